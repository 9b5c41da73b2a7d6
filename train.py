"""Fine-tune a model: `python train.py [-m] model=... method=... data=...`  (see README, `--help`)."""

from llmsweep.cli import train

if __name__ == "__main__":
    train()
