"""One trial as 1 process vs 2 processes (DDP over gloo on this CPU) with the same global batch: per-step wall,
per-rank peak RSS and the eval losses, through the real CLI.

On a CPU the point is correctness and memory, not speed: two processes share the same cores, so the per-step
ratio shows the cost of the all-reduce and of a second copy of the model, not a speed-up. FSDP is not measured
here: accelerate runs FSDP only on GPUs (docs/distributed.md), so `distributed=fsdp` is refused on this machine.

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
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--model", default="mistral")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        one = run(args, Path(tmp) / "one", ["trainer.per_device_train_batch_size=8"])
        two = run(
            args, Path(tmp) / "two", ["distributed=ddp", "devices.per_node=2", "trainer.per_device_train_batch_size=4"]
        )
    print(f"global batch 8, {args.steps} steps, model={args.model} (tiny), gloo on CPU")
    print(
        f"  1 process : {one['step_s'] * 1000:7.1f} ms/step  eval_loss {one['eval_loss']:.6f}  peak RSS per process (MB) "
        f"{[round(r) for r in one['rss']]}"
    )
    print(
        f"  2 process : {two['step_s'] * 1000:7.1f} ms/step  eval_loss {two['eval_loss']:.6f}  peak RSS per process (MB) "
        f"{[round(r) for r in two['rss']]}  (the job's own process and torchrun's ranks)"
    )
    print(
        f"  ratios 2/1: step time {two['step_s'] / one['step_s']:.2f}  |eval_loss diff| "
        f"{abs(two['eval_loss'] - one['eval_loss']):.2e}"
    )
    print(
        "  on CPU: correctness and memory, not speed (both processes share 2 cores); FSDP needs GPUs (docs/distributed.md)"
    )


if __name__ == "__main__":
    main()
