"""Worker utilization of the asynchronous sweeper against batch-blocking ask/tell.

Both schedule the same trials (default 32) of one seeded objective whose trials take uneven time (0.2-2.0 s,
set by the sampled params) on n_workers=2:
  async  llmsweep.sweeping.driver.run_sweep, the code behind `hydra/sweeper=llmsweep_optuna`
  batch  Optuna ask/tell in batches of n_workers, waiting for the whole batch (as hydra-optuna-sweeper does)
Jobs run through a launcher stand-in that sleeps for the trial's duration in the calling thread, so
the numbers measure scheduling alone. Prints busy fraction (job-seconds / (workers x wall)) and the ratio.

    .venv/bin/python bench/sweep_utilization.py [--trials 32] [--workers 2]
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


def duration(x: float, y: int) -> float:
    return 0.2 + 1.8 * ((x * 7.3 + y * 0.37) % 1.0)  # uneven, deterministic in the params


def objective(x: float, y: int) -> float:
    return (x - 0.3) ** 2 + 0.1 * y


class SleepLauncher:
    """Runs a 'job' by sleeping its duration; records busy time."""

    def __init__(self):
        self.busy = 0.0
        self.lock = threading.Lock()

    def launch(self, job_overrides, initial_job_idx):
        (ovs,) = job_overrides
        kv = dict(o.split("=", 1) for o in ovs if "=" in o)
        x, y = float(kv["x"]), int(kv["y"])
        d = duration(x, y)
        time.sleep(d)
        with self.lock:
            self.busy += d
        ret = JobReturn()
        ret.status = JobStatus.COMPLETED
        ret.return_value = objective(x, y)
        return [ret]


def run_async(trials: int, workers: int, tmp: Path) -> tuple[float, float]:
    from llmsweep.sweeping.driver import run_sweep

    conf = OmegaConf.create({
        "n_trials": trials, "n_workers": workers, "study_name": "async", "storage": f"sqlite:///{tmp}/async.db",
        "direction": "minimize", "objective": None, "max_retries": 1, "plots": False,
        "sampler": {"name": "random", "seed": 0, "kwargs": {}}, "pruner": {"name": "none", "kwargs": {}}, "heartbeat_s": 10,
    })
    config = OmegaConf.create({"hydra": {"sweep": {"dir": str(tmp / "async")}, "job": {"name": "bench"}}})
    launcher = SleepLauncher()
    t = time.perf_counter()
    run_sweep(conf, config, launcher, OverridesParser.create().parse_overrides(SPACE))
    return time.perf_counter() - t, launcher.busy


def run_batches(trials: int, workers: int, tmp: Path) -> tuple[float, float]:
    from optuna.distributions import CategoricalDistribution, FloatDistribution

    study = optuna.create_study(storage=f"sqlite:///{tmp}/batch.db", sampler=optuna.samplers.RandomSampler(seed=0))
    space = {"x": FloatDistribution(0.0, 1.0), "y": CategoricalDistribution([0, 1, 2, 3])}
    launcher = SleepLauncher()
    t = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        done = 0
        while done < trials:
            batch = [study.ask(space) for _ in range(min(workers, trials - done))]
            rets = list(pool.map(lambda tr: launcher.launch([[f"x={tr.params['x']!r}", f"y={tr.params['y']}"]], 0)[0], batch))
            for tr, ret in zip(batch, rets):
                study.tell(tr, ret.return_value)
            done += len(batch)
    return time.perf_counter() - t, launcher.busy


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--trials", type=int, default=32, help="more trials amortize the unavoidable idle tail of the last one")
    ap.add_argument("--workers", type=int, default=2)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        wall_a, busy_a = run_async(a.trials, a.workers, Path(tmp))
        wall_b, busy_b = run_batches(a.trials, a.workers, Path(tmp))
    fa, fb = busy_a / (a.workers * wall_a), busy_b / (a.workers * wall_b)
    print(f"async sweeper : wall {wall_a:6.2f} s, busy fraction {fa:.2f}")
    print(f"batch ask/tell: wall {wall_b:6.2f} s, busy fraction {fb:.2f}")
    print(f"wall ratio (batch / async): {wall_b / wall_a:.2f}x  (goals: busy >= 0.9, ratio >= 1.3)")


if __name__ == "__main__":
    main()
