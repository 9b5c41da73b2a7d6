"""GPU-hour accounting: device-seconds = devices x wall seconds of a run, summed over its requeued attempts.

Devices are the GPUs the job holds: what SLURM allocated when it runs under SLURM (that is what the site bills),
else one per torch.distributed process, else what CUDA sees; a CPU-only run counts as one device so tiny runs
stay comparable. `device_seconds` lands in metrics.json and the W&B summary, so it
can be a second objective (`objective=[eval_loss,device_seconds]`); the sweep report totals it.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path


def device_count() -> int:
    if os.environ.get("SLURM_GPUS_ON_NODE"):
        return int(os.environ["SLURM_GPUS_ON_NODE"]) * int(os.environ.get("SLURM_JOB_NUM_NODES", "1"))
    if os.environ.get("WORLD_SIZE"):  # torchrun/accelerate: one process per GPU
        return int(os.environ["WORLD_SIZE"])
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 1


class DeviceClock:
    """Started when a run (or its resumed attempt) starts; `stop()` adds this attempt to the run dir's ledger."""

    def __init__(self, run_dir: Path):
        self.path = Path(run_dir) / "accounting.json"
        self.prior = json.loads(self.path.read_text()) if self.path.exists() else {"device_seconds": 0.0, "attempts": 0}
        self.devices = device_count()
        self.start = time.monotonic()

    def stop(self) -> dict:
        slurm = {"job": os.environ.get("SLURM_JOB_ID"), "node": os.environ.get("SLURMD_NODENAME"),
                 "array_job": os.environ.get("SLURM_ARRAY_JOB_ID"), "array_task": os.environ.get("SLURM_ARRAY_TASK_ID")}
        record = {
            "devices": self.devices,
            "device_seconds": self.prior["device_seconds"] + self.devices * (time.monotonic() - self.start),
            "attempts": self.prior["attempts"] + 1,
            # which SLURM jobs (and nodes) worked on this run, for `sacct -j`
            "slurm": self.prior.get("slurm", []) + ([slurm] if slurm["job"] else []),
        }
        self.path.write_text(json.dumps(record))
        return record
