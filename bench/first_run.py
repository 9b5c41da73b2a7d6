"""First-run wall time of the README's first command on a fresh machine (an empty model cache).

Runs `python train.py -m model=solar,mixtral method=dpo` (install excluded) twice in subprocesses, each with its
own sweep dir: first with a fresh, empty LLMSWEEP_CACHE_DIR (the tokenizer and both tiny bases are built), then
again on that now-warm cache. The ratio cold/warm is what building the bases adds, and holds on any machine; the
goal on a 2-core machine is cold <= 180 s.

    .venv/bin/python bench/first_run.py [--warm-rounds 1] [-- EXTRA OVERRIDES]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
COMMAND = ["train.py", "-m", "model=solar,mixtral", "method=dpo"]
GOAL_S = 180.0


def timed_run(cache: Path, out: Path, extra: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds (user + system of the command's processes) of one run of the command."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WANDB_", "LLMSWEEP_"))}
    env.update(LLMSWEEP_CACHE_DIR=str(cache), WANDB_MODE="offline", HF_HUB_OFFLINE="1")
    argv = [sys.executable, *COMMAND, *extra, f"hydra.sweep.dir={out}"]
    t, before = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True)
    wall, after = time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(argv)} exited {proc.returncode}:\n{proc.stderr[-4000:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--warm-rounds", type=int, default=1, help="runs on the warm cache (the minimum is reported)")
    ap.add_argument("extra", nargs="*", help="extra overrides for both runs")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="llmsweep-first-run-") as tmp:
        cache = Path(tmp) / "cache"
        load = os.getloadavg()[0]
        cold, cold_cpu = timed_run(cache, Path(tmp) / "cold", args.extra)
        warm, warm_cpu = min(timed_run(cache, Path(tmp) / f"warm{i}", args.extra) for i in range(args.warm_rounds))
    load = max(load, os.getloadavg()[0])
    print(f"command: python {' '.join(COMMAND + args.extra)}  ({os.cpu_count()} cores, load average up to {load:.1f})")
    verdict = f"goal: wall <= {GOAL_S:.0f} s: {'ok' if cold <= GOAL_S else 'OVER'}"
    print(f"first run, empty cache:   wall {cold:6.1f} s  cpu {cold_cpu:6.1f} s   ({verdict})")
    print(f"same command, warm cache: wall {warm:6.1f} s  cpu {warm_cpu:6.1f} s")
    print(
        f"ratio first/warm: wall {cold / warm:.2f}  cpu {cold_cpu / warm_cpu:.2f}   "
        f"(building the tokenizer and tiny bases: {cold - warm:.1f} s wall, {cold_cpu - warm_cpu:.1f} s cpu)"
    )
    if load > (os.cpu_count() or 1):
        print("note: the machine was busy (load above its core count): wall times are inflated; cpu times are not")


if __name__ == "__main__":
    main()
