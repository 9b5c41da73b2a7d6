"""The W&B tracker: one W&B run per job. project from config, group = the multirun's sweep, job_type = stage,
name = the job's overrides, config = the flattened composed config. Everything handed to wandb passes through
`tracking.secrets` first (name, group, tags, config, summary, and the command line wandb records). The only module
of llmsweep that imports wandb (besides `tracking.offline`, which reads runs back)."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from llmsweep.tracking import secrets
from llmsweep.tracking.secrets import redact

SCORE_BINS = [0.5, 1.5, 2.5, 3.5, 4.5, 5.5]  # one histogram bin per judge score 1..5

log = logging.getLogger(__name__)


def resolve_mode(tracking: DictConfig) -> str:
    if tracking.mode:
        return str(tracking.mode)
    if os.environ.get("WANDB_MODE"):
        return os.environ["WANDB_MODE"]
    return "online" if os.environ.get("WANDB_API_KEY") else "offline"


def flatten(d: dict, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict) and v:
            out.update(flatten(v, key + "."))
        else:
            out[key] = v
    return out


def summary_key(metric: str) -> str:
    """judge_* metrics read as a group in the W&B UI: judge_mean -> judge/mean, judge_base_mean -> judge/base_mean."""
    return (
        metric.replace("judge_base_", "judge/base_").replace("judge_", "judge/")
        if metric.startswith("judge_")
        else metric
    )


class WandbTracker:
    report_to = "wandb"

    def __init__(self, run):
        self.run = run

    @classmethod
    def start(cls, cfg: DictConfig, run_dir: Path, job, stage: str) -> WandbTracker:
        import wandb

        config = flatten(redact(OmegaConf.to_container(cfg, resolve=True)))  # the harness remembered its secrets
        config["overrides"] = secrets.redact_argv(list(job.overrides))
        # One run dir, one W&B run: a requeued job resumes the run its first attempt started.
        id_file = Path(run_dir) / "wandb_run_id"
        run_id = id_file.read_text().strip() if id_file.exists() else None
        with secrets.redacted_argv():  # wandb-metadata.json and the .wandb file record the program's arguments
            run = wandb.init(
                id=run_id,
                resume="allow" if run_id else None,
                project=cfg.tracking.project,
                entity=cfg.tracking.entity,
                group=redact(cfg.tracking.group or job.group),
                job_type=stage,
                name=redact(job.name),
                tags=redact(list(cfg.tracking.tags)),
                config=config,
                dir=str(run_dir),
                mode=resolve_mode(cfg.tracking),
                reinit="finish_previous",
                settings=wandb.Settings(silent=True),  # its banner and summary: one line of ours instead (finish)
            )
        id_file.write_text(run.id)
        return cls(run)

    def log_config(self, extra: dict) -> None:
        self.run.config.update(redact(extra))

    def log_answers(self, answers: list[dict], scores: dict[str, list]) -> None:
        """The seeds' side-by-side comparison: every answer column, then each judged column's score; plus a
        histogram of the scores of each judged column."""
        import numpy as np
        import wandb

        columns = list(answers[0]) if answers else ["prompt", "reference"]
        score_columns = [c.removesuffix("_answer") + "_score" for c in scores]
        table = wandb.Table(columns=columns + score_columns)
        for i, a in enumerate(answers):
            table.add_data(*(a.get(c) for c in columns), *(scores[c][i] for c in scores))
        logged: dict = {"answers": table}
        for i, (column, values) in enumerate(scores.items()):  # the first is the run's own answer: judge/scores
            judged = [s for s in values if s is not None]
            if judged:
                key = "judge/scores" if i == 0 else f"judge/{column.removesuffix('_answer')}_scores"
                logged[key] = wandb.Histogram(np_histogram=np.histogram(judged, bins=SCORE_BINS))
        self.run.log(logged)

    def log_model(self, model_dir: Path) -> None:
        import wandb

        art = wandb.Artifact(f"model-{self.run.id}", type="model", metadata={"path": str(model_dir)})
        art.add_reference(Path(model_dir).resolve().as_uri(), checksum=False)
        self.run.log_artifact(art)

    def finish(self, summary: dict, state: str = "finished") -> None:
        if state == "preempted":
            self.run.mark_preempting()
        for k, v in redact(summary).items():
            if isinstance(v, (int, float, str, bool)):
                self.run.summary[k] = v
                self.run.summary[summary_key(k)] = v
        run_id, files = self.run.id, Path(self.run.dir)
        url = None if self.run.offline else self.run.url
        self.run.finish(exit_code=1 if state in ("failed", "preempted") else 0)
        log.info("W&B run %s: %s", run_id, url or f"offline; upload it with: wandb sync {files.parent}")
