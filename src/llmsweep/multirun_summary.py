"""The end of a plain multirun (`-m` with Hydra's basic sweeper, on any launcher: local, submitit, SLURM): one line
per job with its run dir, objective, eval_loss, judge_mean and state, read back from the job dirs.

A Hydra callback (`hydra.callbacks.multirun_summary` in conf/hydra/llmsweep.yaml). The Optuna sweeper prints its
own summary (llmsweep.sweeping.report), so only the basic sweeper gets this one. Hydra skips `on_multirun_end` when
a job failed (the basic sweeper re-raises the job's error after the batch), so the table is also printed when the
process exits after that error: a failed job is the one whose state matters most.
"""

from __future__ import annotations

import atexit
import json
import math
from pathlib import Path
from typing import Any

import yaml
from hydra.experimental.callback import Callback
from omegaconf import DictConfig

BASIC_SWEEPER = "hydra._internal.core_plugins.basic_sweeper.BasicSweeper"
COLUMNS = ("job", "run dir", "objective", "eval_loss", "judge_mean", "state")


class MultirunSummary(Callback):
    def __init__(self) -> None:
        self.sweep_dir: Path | None = None

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        if config.hydra.sweeper.get("_target_") != BASIC_SWEEPER:
            return
        self.sweep_dir = Path(config.hydra.sweep.dir)
        atexit.register(self.print_summary)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        if self.sweep_dir is not None:
            atexit.unregister(self.print_summary)
            self.print_summary()

    def print_summary(self) -> None:
        if self.sweep_dir is not None:
            print(format_summary(self.sweep_dir), flush=True)


def job_rows(sweep_dir: Path) -> list[dict[str, str]]:
    """One row per job dir under `sweep_dir` (any `hydra.sweep.subdir` layout), in job order. A job is named by
    its number and the overrides that differ between the jobs (the swept ones), secrets redacted."""
    from llmsweep.tracking.secrets import redact

    jobs = []
    for hydra_yaml in sweep_dir.glob("**/.hydra/hydra.yaml"):
        job = (yaml.safe_load(hydra_yaml.read_text(encoding="utf-8")) or {}).get("hydra", {}).get("job", {})
        overrides_yaml = hydra_yaml.with_name("overrides.yaml")
        overrides = yaml.safe_load(overrides_yaml.read_text(encoding="utf-8")) if overrides_yaml.exists() else []
        jobs.append((job.get("num"), hydra_yaml.parent.parent, [str(o) for o in overrides or []]))
    common = set.intersection(*(set(o) for _, _, o in jobs)) if len(jobs) > 1 else set()
    rows = []
    for num, run_dir, overrides in sorted(jobs, key=lambda j: (j[0] if isinstance(j[0], int) else -1, str(j[1]))):
        metrics, state = _metrics(run_dir)
        swept = " ".join(redact(o) for o in overrides if o not in common)
        rows.append(
            {
                "job": f"#{num if num is not None else '?'} {swept}".rstrip(),
                "run dir": _shown(run_dir),
                "objective": _number(metrics.get("objective")),
                "eval_loss": _number(metrics.get("eval_loss")),
                "judge_mean": _number(metrics.get("judge_mean")),
                "state": state,
            }
        )
    return rows


def format_summary(sweep_dir: Path) -> str:
    rows = job_rows(sweep_dir)
    if not rows:
        return f"multirun: no job dirs in {_shown(sweep_dir)}"
    widths = {c: max(len(c), *(len(r[c]) for r in rows)) for c in COLUMNS}
    line = lambda r: "  ".join(r[c].ljust(widths[c]) for c in COLUMNS).rstrip()  # noqa: E731
    states = {}
    for r in rows:
        states[r["state"]] = states.get(r["state"], 0) + 1
    head = f"multirun: {len(rows)} jobs, " + ", ".join(f"{n} {s}" for s, n in sorted(states.items()))
    tail = f"results: {_shown(sweep_dir)} (each job's run dir: metrics.json, answers.jsonl, model/; multirun.yaml)"
    return "\n".join([head, line({c: c for c in COLUMNS}), *(line(r) for r in rows), tail])


def _metrics(run_dir: Path) -> tuple[dict, str]:
    """metrics.json and the job's state: its own `state` if it has one, finished if written, else failed (a job
    writes metrics.json last; a requeued one has finished or failed by the time the multirun ends)."""
    path = run_dir / "metrics.json"
    if not path.exists():
        return {}, "failed"
    try:
        metrics = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}, "unreadable metrics.json"
    return metrics, str(metrics.get("state", "finished"))


def _number(v: Any) -> str:
    if isinstance(v, list):
        return ",".join(_number(x) for x in v)
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return "-" if v is None else str(v)
    return "nan" if math.isnan(v) else f"{v:.4g}"


def _shown(path: Path) -> str:
    """Relative to the working directory when under it (as the user typed the sweep dir), else absolute."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(Path(path).resolve())
