"""Merge models with mergekit: `python merge.py [-m] merge=slerp|ties|dare_ties|... merge.models=[...]`  (see README, `--help`)."""

from llmsweep.cli import merge

if __name__ == "__main__":
    merge()
