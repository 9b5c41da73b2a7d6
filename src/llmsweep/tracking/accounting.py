"""GPU-hour accounting: device-seconds = devices x wall seconds of a run, summed over its requeued attempts.

Devices are the GPUs the job holds: what SLURM allocated when it runs under SLURM (that is what the site bills),
else one per torch.distributed process, else what CUDA sees; a CPU-only run counts as one device so tiny runs
stay comparable. `device_seconds` lands in metrics.json and the W&B summary, so it
can be a second objective (`objective=[eval_loss,device_seconds]`); the sweep report totals it.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from pathlib import Path


def device_count() -> int:
    gpus = slurm_gpus() if os.environ.get("SLURM_JOB_ID") else 0
    if gpus:
        return gpus
    if os.environ.get("WORLD_SIZE"):  # torchrun/accelerate: one process per GPU
        return int(os.environ["WORLD_SIZE"])
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 1


def slurm_gpus() -> int:
    """GPUs allocated to this SLURM job on all its nodes (0 without GPUs): the job's TRES as `scontrol show job`
    reports it, else SLURM's environment. The environment of a job step (submitit runs the job through `srun`)
    lacks SLURM_GPUS_ON_NODE when the step asked for no GPUs, e.g. in an --exclusive job that holds a whole node's
    GPUs; SLURM_JOB_GPUS (this node's GPU ids) is still there."""
    tres = _scontrol_tres(os.environ["SLURM_JOB_ID"])
    if tres is not None:
        return int(tres.get("gres/gpu", 0))
    env = os.environ
    total = _count(env.get("SLURM_GPUS"))  # --gpus=[type:]N: the job's total
    if total:
        return total
    per_node = _count(env.get("SLURM_GPUS_ON_NODE")) or len([g for g in env.get("SLURM_JOB_GPUS", "").split(",") if g])
    return per_node * int(env.get("SLURM_JOB_NUM_NODES") or env.get("SLURM_NNODES") or 1)


def _scontrol_tres(job_id: str) -> dict[str, str] | None:
    """The allocated TRES of a job ({"cpu": "2", "gres/gpu": "2", ...}), or None when scontrol cannot say."""
    try:
        out = subprocess.run(["scontrol", "show", "job", "-o", job_id], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r"(?:^|\s)TRES=(\S+)", out.stdout) if out.returncode == 0 else None
    if match is None:
        return None
    return dict(item.split("=", 1) for item in match.group(1).split(",") if "=" in item)


def _count(value: str | None) -> int:
    """A GPU count as SLURM writes it: "2" or "a100:2" (typed)."""
    try:
        return int((value or "").rsplit(":", 1)[-1] or 0)
    except ValueError:
        return 0


class DeviceClock:
    """Started when a run (or its resumed attempt) starts; `stop()` adds this attempt to the run dir's ledger."""

    def __init__(self, run_dir: Path):
        self.path = Path(run_dir) / "accounting.json"
        self.prior = json.loads(self.path.read_text()) if self.path.exists() else {"device_seconds": 0.0, "attempts": 0}
        self.devices = device_count()
        self.start = time.monotonic()

    def stop(self) -> dict:
        slurm = {
            "job": os.environ.get("SLURM_JOB_ID"),
            "node": os.environ.get("SLURMD_NODENAME"),
            "nodes": os.environ.get("SLURM_JOB_NODELIST"),  # every node of a multi-node trial
            "array_job": os.environ.get("SLURM_ARRAY_JOB_ID"),
            "array_task": os.environ.get("SLURM_ARRAY_TASK_ID"),
        }
        record = {
            "devices": self.devices,
            "device_seconds": self.prior["device_seconds"] + self.devices * (time.monotonic() - self.start),
            "attempts": self.prior["attempts"] + 1,
            # which SLURM jobs (and nodes) worked on this run, for `sacct -j`
            "slurm": self.prior.get("slurm", []) + ([slurm] if slurm["job"] else []),
        }
        self.path.write_text(json.dumps(record))
        return record
