"""Which process of a trial this is. A trial may run as several processes (torchrun locally, SLURM tasks on a
cluster), each told its place by torch.distributed's variables; only rank 0 writes a run's outputs."""

from __future__ import annotations

import os


def rank() -> int:
    return int(os.environ.get("RANK", "0"))


def world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def is_writer() -> bool:
    """Rank 0: the only process that writes metrics, answers, judgments, W&B and the objective."""
    return rank() == 0
