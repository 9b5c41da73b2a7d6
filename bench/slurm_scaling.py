"""Speed-up of the two-node local SLURM cluster over running the same trials one after another.

8 equal tiny trials (same config, seeds 0-7) as `train.py -m`:
  sequential  Hydra's basic launcher: one process, one trial after another
  cluster     hydra/launcher=slurm_local on slurm/local/up.sh's cluster: one SLURM array, a node per task
Both sides pin torch to one thread per trial (OMP_NUM_THREADS=1), so the cluster's two "nodes" (which share
this host's cores) do not fight over them. Each SLURM task pays its own Python start-up and model load; the
sequential side pays them once. Needs root and the SLURM packages (install.sh --test).

    .venv/bin/python bench/slurm_scaling.py [--trials 8] [--steps 30]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def sweep(out: Path, trials: int, steps: int, env: dict, *extra: str) -> float:
    seeds = ",".join(str(i) for i in range(trials))
    argv = [
        sys.executable,
        "train.py",
        "-m",
        f"seed={seeds}",
        f"trainer.max_steps={steps}",
        "generate.num_prompts=2",
        "tracking=none",
        f"hydra.sweep.dir={out}",
        *extra,
    ]
    t = time.perf_counter()
    proc = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed:\n{proc.stderr[-3000:]}")
    done = sum(1 for i in range(trials) if (out / str(i) / "metrics.json").exists())
    assert done == trials, f"{done} of {trials} trials wrote metrics"
    return wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--trials", type=int, default=8)
    ap.add_argument("--steps", type=int, default=30, help="training steps per trial")
    a = ap.parse_args()
    env = {**os.environ, "OMP_NUM_THREADS": "1", "WANDB_MODE": "offline", "HF_HUB_OFFLINE": "1"}
    with tempfile.TemporaryDirectory(prefix="llmsweep-bench-") as tmp:
        tmp = Path(tmp)
        # warm the tiny-base cache so neither side pays for building it
        subprocess.run(
            [
                sys.executable,
                "train.py",
                "trainer.max_steps=1",
                "generate.num_prompts=1",
                "tracking=none",
                f"hydra.run.dir={tmp / 'warm'}",
            ],
            cwd=REPO,
            env=env,
            check=True,
            capture_output=True,
        )
        seq = sweep(tmp / "seq", a.trials, a.steps, env)
        state = tmp / "cluster"
        subprocess.run([str(REPO / "slurm/local/up.sh"), str(state)], check=True, capture_output=True)
        try:
            cl = sweep(
                tmp / "slurm",
                a.trials,
                a.steps,
                {**env, "SLURM_CONF": str(state / "etc/slurm.conf")},
                "hydra/launcher=slurm_local",
            )
        finally:
            subprocess.run([str(REPO / "slurm/local/down.sh"), str(state)], capture_output=True)
    print(f"{a.trials} trials x {a.steps} steps, one torch thread each, on {os.cpu_count()} cores")
    print(f"sequential (basic launcher) : {seq:7.1f} s")
    print(f"2-node SLURM (slurm_local)  : {cl:7.1f} s")
    print(f"speed-up: {seq / cl:.2f}x  (ideal 2.00x for 2 nodes; each SLURM task pays its own start-up)")


if __name__ == "__main__":
    main()
