"""Overhead of a llmsweep run over a bare trl script doing the same training.

Both sides train the same tiny base (LoRA SFT, same data, split, steps, batch, lr, eval schedule, torch
threads), log to offline W&B and save the adapter; they run in one process after one untimed warm-up each, so
one-time imports and the cached tiny base cost neither side. llmsweep additionally generates the tuned model's
answers (the base model's are cached per base, so after the warm-up they are read back), judges them, writes
metrics.json/answers.jsonl and logs the answers table: that is the overhead.

Robust to a shared, noisy machine: the runs are interleaved pairs whose order alternates (AB, BA, ...), so
load that drifts over minutes hits both sides of a pair alike; the overhead is the median of the per-pair
ratios, printed with their spread (min, quartiles, max) next to two cross-checks: the ratio of each side's
fastest run, and the ratio of CPU time (user + system, which waiting for a busy core does not inflate).
The load average is printed with every pair: when it exceeds the cores, wall times mostly measure waiting for a
core (a run's wall is then 2-3x its CPU time) and the CPU ratio is the steadier reading of the overhead.

    .venv/bin/python bench/overhead.py [--rounds 11]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
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


def cpu() -> float:
    """User + system seconds of this process's threads and its reaped children."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def timed(fn, *args) -> tuple[float, float]:
    """(wall, CPU) seconds of fn(*args)."""
    c, t = cpu(), time.perf_counter()
    fn(*args)
    return time.perf_counter() - t, cpu() - c


def llmsweep_run(cfg, out: Path) -> None:
    from llmsweep.harness import Job
    from llmsweep.training.run import run

    run(cfg, Job(out, "bench-llmsweep", (), "bench"))


def loadavg() -> str:
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def bare_trl_run(cfg, base: str, out: Path) -> None:
    """What a researcher writes by hand with trl: load, format, train with eval, save."""
    import torch
    import wandb
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    if cfg.threads:  # the torch threads llmsweep's run sets (process-wide), whichever side ran first
        torch.set_num_threads(int(cfg.threads))
    tok = AutoTokenizer.from_pretrained(base)
    model = AutoModelForCausalLM.from_pretrained(base)
    rows = [json.loads(line) for line in open(cfg.data.path, encoding="utf-8")]
    examples = [
        {
            "prompt": [
                {
                    "role": "user",
                    "content": f"{r['context']}\n\n{r['instruction']}" if r["context"] else r["instruction"],
                }
            ],
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


def spread(xs: list[float]) -> str:
    q = statistics.quantiles(xs, n=4, method="inclusive") if len(xs) > 1 else [xs[0]] * 3
    return f"min {min(xs):.3f}, q1 {q[0]:.3f}, median {q[1]:.3f}, q3 {q[2]:.3f}, max {max(xs):.3f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--rounds", type=int, default=11, help="timed pairs (one run of each side, order alternating); ~20 s each"
    )
    ap.add_argument(
        "overrides", nargs="*", default=["model=mistral", "method=lora"], help="Hydra overrides for both sides"
    )
    a = ap.parse_args()

    register_configs()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose("train", overrides=a.overrides)
    from llmsweep.models.build import tiny_checkpoint

    base = str(tiny_checkpoint(cfg))  # built (or found) once, outside the timings
    print(f"load average at start: {loadavg()} on {os.cpu_count()} cores", flush=True)
    wall: dict[str, list[float]] = {"llmsweep": [], "bare trl": []}
    cpus: dict[str, list[float]] = {"llmsweep": [], "bare trl": []}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(a.rounds + 1):  # round 0 warms both sides up and is not counted
            sides = {
                "llmsweep": lambda i=i: llmsweep_run(cfg, Path(tmp) / f"ours{i}"),
                "bare trl": lambda i=i: bare_trl_run(cfg, base, Path(tmp) / f"bare{i}"),
            }
            order = list(sides) if i % 2 == 0 else list(sides)[::-1]  # AB, BA, AB, ...: drift hits both alike
            got = {name: timed(sides[name]) for name in order}
            if i:
                for name, (w, c) in got.items():
                    wall[name].append(w)
                    cpus[name].append(c)
            print(
                f"pair {i}{' (warm-up)' if not i else ''}, {' then '.join(order)}: "
                + ", ".join(f"{n} {got[n][0]:.2f} s wall / {got[n][1]:.2f} s CPU" for n in sides)
                + f", ratio {got['llmsweep'][0] / got['bare trl'][0]:.3f}; load {loadavg()}",
                flush=True,
            )
    pairs = [o / b for o, b in zip(wall["llmsweep"], wall["bare trl"], strict=True)]
    cpu_pairs = [o / b for o, b in zip(cpus["llmsweep"], cpus["bare trl"], strict=True)]
    print(f"per-pair wall ratios (llmsweep / bare trl), {len(pairs)} pairs: {spread(pairs)}")
    print(f"per-pair CPU ratios: {spread(cpu_pairs)}")
    print(
        f"fastest run of each side: llmsweep {min(wall['llmsweep']):.2f} s, bare trl {min(wall['bare trl']):.2f} s "
        f"-> {min(wall['llmsweep']) / min(wall['bare trl']):.3f}"
    )
    print(f"load average at end: {loadavg()}")
    print(f"overhead ratio (median of per-pair CPU ratios): {statistics.median(cpu_pairs):.3f}")
    print(f"overhead ratio (median of per-pair wall ratios): {statistics.median(pairs):.3f}  (goal <= 1.05)")


if __name__ == "__main__":
    main()
