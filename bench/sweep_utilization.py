"""Worker utilization of the asynchronous sweeper against batch-blocking ask/tell.

Both schedule the same trials (default 64) of one seeded objective whose trials take uneven time, set by the
sampled params, on n_workers=2. Two workloads:
  pruned   the shape of a pruned sweep (bench/pruning.py: successive halving, rungs at 5 and 15 of 45 steps):
           half the trials stop at the first rung, a quarter at the second, a quarter run in full (2 s);
           mean 0.39x a full trial, as that bench measured
  uniform  lengths spread evenly over 0.2-2.0 s (for uniform lengths a batch of 2 waits for the longer of
           two, so the ideal ratio is E[max]/E[mean] = 1.4/1.1 = 1.27x: the goal is out of reach by design)
  async  llmsweep.sweeping.driver.run_sweep, the code behind `hydra/sweeper=llmsweep_optuna`
  batch  Optuna ask/tell in batches of n_workers, waiting for the whole batch (as hydra-optuna-sweeper does)
Jobs run through a launcher stand-in that sleeps for the trial's duration in the calling thread, so
the numbers measure scheduling alone. Prints busy fraction (job-seconds / (workers x wall)) and the ratio.

    .venv/bin/python bench/sweep_utilization.py [--trials 64] [--workload pruned|uniform|both] [--workers 2]
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import optuna
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.utils import JobReturn, JobStatus
from omegaconf import OmegaConf

optuna.logging.set_verbosity(optuna.logging.WARNING)
SPACE = ["x=interval(0.0, 1.0)", "y=choice(0, 1, 2, 3)"]


FULL_S = 2.0
WORKLOADS = {
    "pruned": lambda u: FULL_S * (5 / 45 if u < 0.5 else 15 / 45 if u < 0.75 else 1.0),
    "uniform": lambda u: 0.2 + 1.8 * u,
}


def duration(x: float, y: int, workload: str) -> float:
    return WORKLOADS[workload]((x * 7.3 + y * 0.37) % 1.0)  # uneven, deterministic in the params


def objective(x: float, y: int) -> float:
    return (x - 0.3) ** 2 + 0.1 * y


class SleepLauncher:
    """Runs a 'job' by sleeping its duration; records busy time."""

    def __init__(self, workload: str):
        self.workload = workload
        self.busy = 0.0
        self.lock = threading.Lock()

    def launch(self, job_overrides, initial_job_idx):
        (ovs,) = job_overrides
        kv = dict(o.split("=", 1) for o in ovs if "=" in o)
        x, y = float(kv["x"]), int(kv["y"])
        d = duration(x, y, self.workload)
        time.sleep(d)
        with self.lock:
            self.busy += d
        ret = JobReturn()
        ret.status = JobStatus.COMPLETED
        ret.return_value = objective(x, y)
        return [ret]


def run_async(trials: int, workers: int, tmp: Path, workload: str) -> tuple[float, float]:
    from llmsweep.sweeping.driver import run_sweep

    conf = OmegaConf.create(
        {
            "n_trials": trials,
            "n_workers": workers,
            "study_name": "async",
            "storage": f"sqlite:///{tmp}/async-{workload}.db",
            "direction": "minimize",
            "objective": None,
            "max_retries": 1,
            "plots": False,
            "sampler": {"name": "random", "seed": 0, "kwargs": {}},
            "pruner": {"name": "none", "kwargs": {}},
            "heartbeat_s": 10,
        }
    )
    config = OmegaConf.create({"hydra": {"sweep": {"dir": str(tmp / f"async-{workload}")}, "job": {"name": "bench"}}})
    launcher = SleepLauncher(workload)
    t = time.perf_counter()
    run_sweep(conf, config, launcher, OverridesParser.create().parse_overrides(SPACE))
    return time.perf_counter() - t, launcher.busy


def run_batches(trials: int, workers: int, tmp: Path, workload: str) -> tuple[float, float]:
    from optuna.distributions import CategoricalDistribution, FloatDistribution

    launcher = SleepLauncher(workload)
    t = time.perf_counter()  # both sides are timed from creating their study (run_sweep creates its own)
    study = optuna.create_study(
        storage=f"sqlite:///{tmp}/batch-{workload}.db", sampler=optuna.samplers.RandomSampler(seed=0)
    )
    space = {"x": FloatDistribution(0.0, 1.0), "y": CategoricalDistribution([0, 1, 2, 3])}
    with ThreadPoolExecutor(workers) as pool:
        done = 0
        while done < trials:
            batch = [study.ask(space) for _ in range(min(workers, trials - done))]
            rets = list(
                pool.map(lambda tr: launcher.launch([[f"x={tr.params['x']!r}", f"y={tr.params['y']}"]], 0)[0], batch)
            )
            for tr, ret in zip(batch, rets):
                study.tell(tr, ret.return_value)
            done += len(batch)
    return time.perf_counter() - t, launcher.busy


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--trials", type=int, default=64, help="more trials amortize the unavoidable idle tail of the last one"
    )
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--workload", choices=[*WORKLOADS, "both"], default="both")
    a = ap.parse_args()
    for workload in WORKLOADS if a.workload == "both" else [a.workload]:
        with tempfile.TemporaryDirectory() as tmp:
            wall_a, busy_a = run_async(a.trials, a.workers, Path(tmp), workload)
            wall_b, busy_b = run_batches(a.trials, a.workers, Path(tmp), workload)
        fa, fb = busy_a / (a.workers * wall_a), busy_b / (a.workers * wall_b)
        print(f"[{workload}] async sweeper : wall {wall_a:6.2f} s, busy fraction {fa:.2f}")
        print(f"[{workload}] batch ask/tell: wall {wall_b:6.2f} s, busy fraction {fb:.2f}")
        print(f"[{workload}] wall ratio (batch / async): {wall_b / wall_a:.2f}x  (goals: busy >= 0.9, ratio >= 1.3)")


if __name__ == "__main__":
    main()
