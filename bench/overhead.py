"""Overhead of a llmsweep run over a bare trl script doing the same training.

Both sides train the same tiny base (LoRA SFT, same data, steps, batch, lr, eval schedule), log to
offline W&B and save the adapter; they alternate in one process after one untimed warm-up each, so
one-time imports and the cached tiny base cost neither side. llmsweep additionally generates base and
tuned answers, writes metrics.json/answers.jsonl and logs the answers table: that is the overhead.

    .venv/bin/python bench/overhead.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("WANDB_SILENT", "true")

from hydra import compose, initialize_config_dir  # noqa: E402
from omegaconf import OmegaConf  # noqa: E402

from llmsweep.config import register_configs  # noqa: E402

from llmsweep.paths import CONF_DIR  # noqa: E402


def llmsweep_run(cfg, out: Path) -> float:
    from llmsweep.harness import Job
    from llmsweep.training.run import run

    t = time.perf_counter()
    run(cfg, Job(out, "bench-llmsweep", (), "bench"))
    return time.perf_counter() - t


def bare_trl_run(cfg, base: str, out: Path) -> float:
    """What a researcher writes by hand with trl: load, format, train with eval, save."""
    import wandb
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    t = time.perf_counter()
    tok = AutoTokenizer.from_pretrained(base)
    model = AutoModelForCausalLM.from_pretrained(base)
    rows = [json.loads(line) for line in open(cfg.data.path, encoding="utf-8")]
    examples = [
        {
            "prompt": [{"role": "user", "content": f"{r['context']}\n\n{r['instruction']}" if r["context"] else r["instruction"]}],
            "completion": [{"role": "assistant", "content": r["response"]}],
        }
        for r in rows
    ]
    split = Dataset.from_list(examples).train_test_split(test_size=cfg.data.eval_size, seed=cfg.data.seed)
    args = SFTConfig(
        output_dir=str(out / "checkpoints"),
        **OmegaConf.to_container(cfg.trainer, resolve=True),
        **OmegaConf.to_container(cfg.method.args, resolve=True),
        seed=cfg.seed,
        data_seed=cfg.seed,
        report_to=["wandb"],
        run_name="bench-bare",
    )
    wandb.init(project="llmsweep-bench", dir=str(out), mode="offline", name="bench-bare")
    trainer = SFTTrainer(
        model=model,
        args=args,
        train_dataset=split["train"],
        eval_dataset=split["test"],
        processing_class=tok,
        peft_config=LoraConfig(**OmegaConf.to_container(cfg.method.lora, resolve=True)),
    )
    trainer.train()
    trainer.save_model(str(out / "model"))
    wandb.finish()
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3, help="timed rounds per side (alternating)")
    ap.add_argument("overrides", nargs="*", default=["model=mistral", "method=lora"], help="Hydra overrides for both sides")
    a = ap.parse_args()

    register_configs()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose("train", overrides=a.overrides)
    from llmsweep.models.build import tiny_checkpoint

    base = str(tiny_checkpoint(cfg))  # built (or found) once, outside the timings
    times: dict[str, list[float]] = {"llmsweep": [], "bare trl": []}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(a.rounds + 1):  # round 0 warms both sides up and is not counted
            ours = llmsweep_run(cfg, Path(tmp) / f"ours{i}")
            bare = bare_trl_run(cfg, base, Path(tmp) / f"bare{i}")
            if i:
                times["llmsweep"].append(ours)
                times["bare trl"].append(bare)
            print(f"round {i}{' (warm-up)' if not i else ''}: llmsweep {ours:.2f} s, bare trl {bare:.2f} s", flush=True)
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"median wall per run: llmsweep {med['llmsweep']:.2f} s, bare trl {med['bare trl']:.2f} s")
    print(f"overhead ratio (llmsweep / bare trl): {med['llmsweep'] / med['bare trl']:.3f}  (goal <= 1.05)")


if __name__ == "__main__":
    main()
