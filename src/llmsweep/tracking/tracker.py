"""The tracker interface: the one way a run reports to an experiment tracker.

Recipes, judging and merging return rows and metrics; the run harness hands them to a `Tracker`. Only
`tracking.wandb_run` imports wandb. `NullTracker` is `tracking=none` (and every rank but 0 of a
distributed run): the same calls, no effect.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol


class Tracker(Protocol):
    report_to: str  # what transformers' Trainer reports to: "wandb" | "none"

    def log_config(self, extra: dict) -> None:
        """More config beside the composed one (e.g. the mergekit recipe)."""

    def log_answers(self, answers: list[dict], scores: dict[str, list]) -> None:
        """One table: each answer row with its judge scores (`scores`: answer column -> score per row)."""

    def log_model(self, model_dir: Path) -> None:
        """A reference to a model on disk (no upload)."""

    def finish(self, summary: dict, state: str = "finished") -> None:
        """Final metrics into the run's summary, then close it. state: finished | failed | preempted | pruned."""


class NullTracker:
    report_to = "none"

    def log_config(self, extra: dict) -> None:
        pass

    def log_answers(self, answers: list[dict], scores: dict[str, list]) -> None:
        pass

    def log_model(self, model_dir: Path) -> None:
        pass

    def finish(self, summary: dict, state: str = "finished") -> None:
        pass


def start_tracker(cfg, run_dir: Path, job, stage: str) -> Tracker:
    """The configured tracker for this run (`tracking.backend`)."""
    if str(cfg.tracking.backend) == "none":
        return NullTracker()
    from llmsweep.tracking.wandb_run import WandbTracker

    return WandbTracker.start(cfg, run_dir, job, stage)
