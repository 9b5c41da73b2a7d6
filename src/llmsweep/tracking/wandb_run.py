"""One W&B run per job: project from config, group = the multirun's sweep, job_type = stage,
name = the job's overrides, config = the flattened composed config (secrets redacted)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from llmsweep.tracking.secrets import redact


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


def start_run(cfg: DictConfig, run_dir: Path, job: dict, stage: str = "train"):
    """Start the run, or return None when tracking is off. `job` holds name/group from Hydra."""
    if str(cfg.tracking.backend) == "none":
        return None
    import wandb

    config = flatten(redact(OmegaConf.to_container(cfg, resolve=True)))
    config["overrides"] = redact(job["overrides"])
    # One run dir, one W&B run: a requeued job resumes the run its first attempt started.
    id_file = Path(run_dir) / "wandb_run_id"
    run_id = id_file.read_text().strip() if id_file.exists() else None
    run = wandb.init(
        id=run_id,
        resume="allow" if run_id else None,
        project=cfg.tracking.project,
        entity=cfg.tracking.entity,
        group=cfg.tracking.group or job.get("group"),
        job_type=stage,
        name=job["name"],
        tags=list(cfg.tracking.tags),
        config=config,
        dir=str(run_dir),
        mode=resolve_mode(cfg.tracking),
        reinit="finish_previous",
    )
    id_file.write_text(run.id)
    return run


def finish_run(run, metrics: dict, answers: list[dict]) -> None:
    """The answers (the seeds' side-by-side comparison) as a Table, then final metrics into the summary."""
    if run is None:
        return
    import wandb

    columns = list(answers[0]) if answers else ["prompt", "reference"]  # train: base/tuned answers; merge: merged_answer
    table = wandb.Table(columns=columns)
    for a in answers:
        table.add_data(*(a[c] for c in columns))
    run.log({"answers": table})
    for k, v in metrics.items():
        if isinstance(v, (int, float, str, bool)):
            run.summary[k] = v
    run.finish()
