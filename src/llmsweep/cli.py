"""Hydra entry points. Only light imports here: `train.py --cfg job` must not load torch."""

from __future__ import annotations

import sys

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from llmsweep import paths
from llmsweep.errors import UserError
from llmsweep.config import register_configs

register_configs()  # every schema (train, merge, serve) and the resolvers

CONF_DIR = str(paths.CONF_DIR)


def _run(stage, cfg: DictConfig):
    from llmsweep.console import route_to_log_file

    route_to_log_file()  # library warnings and metric dicts: the job's log file only
    try:
        return stage(cfg)
    except UserError as e:
        if HydraConfig.get().mode == RunMode.MULTIRUN:
            raise  # one job of a sweep: the sweeper records it as failed and goes on
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)


@hydra.main(config_path=CONF_DIR, config_name="train", version_base="1.3")
def train(cfg: DictConfig) -> float:
    """Train one model (model x method x data) and return the objective for a sweeper."""
    from llmsweep.launch import run_job
    from llmsweep.training.run import RECIPE

    return _run(lambda c: run_job(RECIPE, c), cfg)


@hydra.main(config_path=CONF_DIR, config_name="merge", version_base="1.3")
def merge(cfg: DictConfig) -> float:
    """Merge models with mergekit, evaluate the result, and return the objective for a sweeper."""
    from llmsweep.launch import run_job
    from llmsweep.merging.run import RECIPE

    return _run(lambda c: run_job(RECIPE, c), cfg)


@hydra.main(config_path=CONF_DIR, config_name="serve", version_base="1.3")
def serve(cfg: DictConfig) -> None:
    """Serve one run dir over the OpenAI chat-completions protocol until interrupted."""
    from llmsweep.serving.server import run

    try:
        run(cfg)
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
