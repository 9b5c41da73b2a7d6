"""The run harness: what every run kind (training, merging, and those to come) shares.

A recipe is a plain function of its composed config: `recipe.run(cfg, run) -> Outcome` (metrics, answers, the
model it saved). `execute` owns everything around it, in this order:

    job info + run dir -> device clock -> recipe.check(cfg) -> seed -> recipe.run(cfg, run)
      -> a control stopped it early (preempted, pruned)?  finish the run as such and raise the control's error
      -> answers.jsonl -> judge (judgments.jsonl, judge_* metrics) -> accounting -> objective -> metrics.json
      -> tracker: answers table with scores, model reference, summary, finish

Controls (preemption, pruning) are handed in by the launch layer (`llmsweep.launch`); a recipe only passes
`run.trainer_callbacks()` to its trainer and returns early when `run.stopping`. The tracker is the only thing
that talks to W&B; it starts on first use, so a merge that first trains its experts (each its own run) opens
its own W&B run only afterwards.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from omegaconf import DictConfig, OmegaConf

from llmsweep.errors import UserError
from llmsweep.jsonl import write_jsonl
from llmsweep.ranks import is_writer

log = logging.getLogger(__name__)

KEEP_IF_BEST = "keep_if_best.json"  # outputs a sweep keeps only while the trial is its best (sweeping.retention)


@dataclass(frozen=True)
class Job:
    """Where a run writes and how it is named: from the Hydra job, or given (a joint merge's experts)."""

    run_dir: Path
    name: str = "defaults"
    overrides: tuple[str, ...] = ()
    group: str | None = None  # the multirun's sweep: the W&B group

    @classmethod
    def from_hydra(cls) -> Job:
        from hydra.core.hydra_config import HydraConfig
        from hydra.types import RunMode

        hc = HydraConfig.get()
        group = "-".join(Path(hc.sweep.dir).parts[-2:]) if hc.mode == RunMode.MULTIRUN else None
        return cls(Path(hc.runtime.output_dir), hc.job.override_dirname or "defaults", tuple(hc.overrides.task), group)


@dataclass
class Stop:
    """A control stopped the run early: the state it ends in, the error raised once it is finished, and what
    metrics.json and the tracker's summary say (None: no metrics.json, the run continues after a requeue)."""

    state: str  # preempted | pruned
    error: BaseException
    summary: dict | None = None


class Control(Protocol):
    """Something outside the recipe that may stop it between steps (preemption, pruning)."""

    def trainer_callback(self) -> Any: ...

    @property
    def stopping(self) -> bool: ...

    def stop(self, progress: dict) -> Stop | None: ...

    def close(self) -> None: ...


@dataclass
class Outcome:
    """What a recipe returns. `answers` go to answers.jsonl and the judge; `judged` maps the judgment's
    "which" (tuned, base) to the answer column it scores; `model_dir` is referenced by the tracker."""

    metrics: dict
    answers: list[dict] = field(default_factory=list)
    judged: dict[str, str] = field(default_factory=lambda: {"tuned": "tuned_answer", "base": "base_answer"})
    model_dir: Path | None = None


@dataclass(frozen=True)
class Recipe:
    """A run kind: its W&B job_type, its function, and a cheap check that runs before any heavy import."""

    stage: str
    run: Callable[[DictConfig, Run], Outcome]
    check: Callable[[DictConfig], None] = lambda cfg: None


class Run:
    """The handle a recipe gets: its run dir, tracker and the trainer callbacks of the controls."""

    def __init__(self, cfg: DictConfig, job: Job, stage: str, controls: Sequence[Control] = ()):
        self.cfg, self.job, self.stage, self.controls = cfg, job, stage, list(controls)
        self.run_dir = Path(job.run_dir)
        self._tracker = None

    @property
    def is_writer(self) -> bool:
        """Rank 0 of a trial run as several processes (or the only process): it alone writes and tracks."""
        return is_writer()

    @property
    def tracker(self):
        if self._tracker is None:
            from llmsweep.tracking.tracker import NullTracker, start_tracker

            self._tracker = (
                start_tracker(self.cfg, self.run_dir, self.job, self.stage) if self.is_writer else NullTracker()
            )
        return self._tracker

    def trainer_callbacks(self) -> list:
        return [cb for cb in (c.trainer_callback() for c in self.controls) if cb is not None]

    @property
    def stopping(self) -> bool:
        """A control asked the run to stop (the trainer has already stopped at a step boundary)."""
        return any(c.stopping for c in self.controls)

    def keep_only_if_best(self, *relpaths: str) -> None:
        """In a sweep, these outputs are deleted once the trial is not (or no longer) the study's best."""
        if self.is_writer:
            (self.run_dir / KEEP_IF_BEST).write_text(json.dumps(list(relpaths)))

    def finish_tracking(self, summary: dict, state: str) -> None:
        if self._tracker is not None:
            tracker, self._tracker = self._tracker, None
            tracker.finish(summary, state)


def objective_keys(cfg: DictConfig) -> list[str]:
    return list(cfg.objective) if OmegaConf.is_list(cfg.objective) else [str(cfg.objective)]


def objective_of(metrics: dict, keys: list[str], stage: str):
    missing = [k for k in keys if k not in metrics]
    if missing:
        have = sorted(k for k, v in metrics.items() if isinstance(v, (int, float)) and not isinstance(v, bool))
        raise UserError(
            f"objective={','.join(missing)} is not a metric of this {stage} run. Available: {', '.join(have)}"
        )
    values = [float(metrics[k]) for k in keys]
    return values[0] if len(values) == 1 else values


def _json_safe(v):
    """NaN and infinities as null: metrics.json stays valid JSON (a judge that scored nothing gives NaN)."""
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dict):
        return {k: _json_safe(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_json_safe(x) for x in v]
    return v


def write_metrics(run_dir: Path, metrics: dict) -> None:
    from llmsweep.tracking.secrets import redact

    text = json.dumps(redact(_json_safe(metrics)), indent=2, ensure_ascii=False, allow_nan=False)
    (run_dir / "metrics.json").write_text(text, encoding="utf-8")


def execute(recipe: Recipe, cfg: DictConfig, job: Job | None = None, controls: Sequence[Control] = ()):
    """Run `recipe` on `cfg` as one tracked run; returns its objective (one value, or a list). In a trial run as
    several processes every rank runs the recipe, and rank 0 alone writes, judges, tracks and returns the
    objective (the other ranks return None)."""
    from llmsweep.tracking.accounting import DeviceClock
    from llmsweep.training.distributed import barrier

    job = job or Job.from_hydra()
    keys = objective_keys(cfg)
    recipe.check(cfg)  # bad inputs fail before torch is imported
    _protect_secrets(cfg, job)
    run = Run(cfg, job, recipe.stage, controls)
    run.run_dir.mkdir(parents=True, exist_ok=True)
    clock = DeviceClock(run.run_dir) if run.is_writer else None
    from transformers import set_seed

    set_seed(cfg.seed)
    try:
        outcome = recipe.run(cfg, run)
        stop = next((s for s in (c.stop(outcome.metrics) for c in run.controls) if s is not None), None)
        if stop is not None:
            if run.is_writer:
                _finish_stopped(run, stop, outcome.metrics, clock)
            # a rank that hands a preempted job over requeues it, and SLURM then kills every task: not before rank 0
            # has recorded the attempt
            barrier()
            raise stop.error
        if not run.is_writer:
            return None
        objective = _finish(cfg, run, outcome, keys, clock)
    except BaseException:
        run.finish_tracking({}, "failed")
        raise
    finally:
        for c in run.controls:
            c.close()
    log.info("%s = %s; outputs in %s", ",".join(keys), objective, run.run_dir)
    if any(math.isnan(v) for v in (objective if isinstance(objective, list) else [objective])):
        log.warning("objective is NaN")
    return objective


def _protect_secrets(cfg: DictConfig, job: Job) -> None:
    """The run's secrets (secret-looking keys, URL passwords, in its config and overrides) stay out of its logs,
    tracker and files; see llmsweep.tracking.secrets."""
    from omegaconf.errors import OmegaConfBaseException

    from llmsweep.tracking import secrets

    try:
        config = OmegaConf.to_container(cfg, resolve=True)
    except OmegaConfBaseException:  # an interpolation that fails here fails the run later, with its own message
        config = OmegaConf.to_container(cfg, resolve=False)
    secrets.protect(config, job.overrides)


def _finish(cfg: DictConfig, run: Run, outcome: Outcome, keys: list[str], clock) -> Any:
    from llmsweep.judging import judge_run

    metrics, answers = outcome.metrics, outcome.answers
    write_jsonl(run.run_dir / "answers.jsonl", answers)
    judged = judge_run(cfg, run.run_dir, answers, outcome.judged)  # judgments.jsonl
    metrics.update(judged.metrics)
    metrics.update(clock.stop())
    objective = metrics["objective"] = objective_of(metrics, keys, run.stage)
    write_metrics(run.run_dir, metrics)
    tracker = run.tracker
    tracker.log_answers(answers, judged.scores(answers, outcome.judged))
    if outcome.model_dir is not None:
        tracker.log_model(outcome.model_dir)
    run.finish_tracking({k: v for k, v in metrics.items() if k != "history"}, "finished")
    return objective


def _finish_stopped(run: Run, stop: Stop, progress: dict, clock) -> None:
    accounting = clock.stop()
    if stop.summary is None:  # preempted: the requeued job continues this run (same dir, same W&B run)
        run.finish_tracking({}, stop.state)
        return
    metrics = {**stop.summary, **progress, **accounting}
    write_metrics(run.run_dir, metrics)
    run.finish_tracking({k: v for k, v in metrics.items() if k != "history"}, stop.state)
