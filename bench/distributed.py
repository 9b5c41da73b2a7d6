"""One trial as 1 process vs 2 processes (DDP, then FSDP2, over gloo on this CPU) with the same global batch:
per-step wall, per-rank peak RSS, per-rank parameter bytes and the eval losses, through the real CLI.

On a CPU the point is correctness and memory, not speed: two processes share the same cores, so the per-step
ratio shows the cost of the collectives (and, for DDP, of a second copy of the model), not a speed-up. A tiny
model's peak RSS is mostly the Python/torch runtime; the parameter bytes per rank show what FSDP shards.

    .venv/bin/python bench/distributed.py [--steps 20] [--model mistral]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def peak_rss_mb(pid_filter: str, stop: threading.Event, peaks: dict) -> None:
    """Poll /proc for the processes whose command line holds `pid_filter`; keep each one's VmHWM (peak RSS)."""
    while not stop.is_set():
        for proc in Path("/proc").glob("[0-9]*"):
            try:
                if pid_filter.encode() not in (proc / "cmdline").read_bytes():
                    continue
                for line in (proc / "status").read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        peaks[proc.name] = max(peaks.get(proc.name, 0), int(line.split()[1]) / 1024)
            except OSError:
                continue
        stop.wait(0.2)


def run(args, out: Path, extra: list[str]) -> dict:
    argv = [
        sys.executable,
        "train.py",
        f"model={args.model}",
        f"trainer.max_steps={args.steps}",
        "trainer.eval_steps=10",
        "tracking=none",
        "judge=none",
        "generate.num_prompts=1",
        f"hydra.run.dir={out}",
        *extra,
    ]
    peaks: dict = {}
    stop = threading.Event()
    watcher = threading.Thread(target=peak_rss_mb, args=(str(out), stop, peaks), daemon=True)
    watcher.start()
    t = time.perf_counter()
    subprocess.run(argv, cwd=REPO, check=True, capture_output=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    wall = time.perf_counter() - t
    stop.set()
    watcher.join()
    m = json.loads((out / "metrics.json").read_text())
    return {
        "step_s": m["train_runtime"] / m["global_step"],
        "eval_loss": m["eval_loss"],
        "wall": wall,
        "rss": sorted(peaks.values()),
        "params": m["parameter_bytes_per_rank"],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--model", default="mistral")
    args = ap.parse_args()
    two = ["devices.per_node=2", "trainer.per_device_train_batch_size=4"]
    with tempfile.TemporaryDirectory() as tmp:
        runs = {
            "1 process": run(args, Path(tmp) / "one", ["trainer.per_device_train_batch_size=8"]),
            "2 x DDP": run(args, Path(tmp) / "ddp", ["distributed=ddp", *two]),
            "2 x FSDP": run(args, Path(tmp) / "fsdp", ["distributed=fsdp", *two]),
        }
    one = runs["1 process"]
    print(f"global batch 8, {args.steps} steps, model={args.model} (tiny), gloo on CPU")
    for name, r in runs.items():
        print(
            f"  {name:9s}: {r['step_s'] * 1000:7.1f} ms/step  eval_loss {r['eval_loss']:.6f}  parameter KB per rank "
            f"{[round(b / 1024) for b in r['params']]}  peak RSS per process (MB) {[round(x) for x in r['rss']]}"
        )
    for name, r in list(runs.items())[1:]:
        print(
            f"  ratios {name} / 1 process: step time {r['step_s'] / one['step_s']:.2f}  parameter bytes per rank "
            f"{max(r['params']) / one['params'][0]:.2f}  |eval_loss diff| {abs(r['eval_loss'] - one['eval_loss']):.2e}"
        )
    print("  on CPU: correctness and memory, not speed (the processes share 2 cores); RSS lists the job's own")
    print("  process and torchrun's ranks, and is mostly the runtime at this size")


if __name__ == "__main__":
    main()
