"""Hydra entry points. Only light imports here: `train.py --cfg job` must not load torch."""

from __future__ import annotations

import sys

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from llmsweep import paths
from llmsweep.cli_checks import check_config, checked, discard_unused_run_dir
from llmsweep.config import TrainConf, register_configs
from llmsweep.errors import UserError
from llmsweep.merging.config import MergeRunConf

register_configs()  # every schema (train, merge, rag, serve) and the resolvers

CONF_DIR = str(paths.CONF_DIR)


def _run(stage, cfg: DictConfig, name: str):
    from llmsweep.console import route_to_log_file

    route_to_log_file()  # library warnings and metric dicts: the job's log file only
    single = HydraConfig.get().mode != RunMode.MULTIRUN
    try:
        check_config(cfg, name)  # pass-through fields (trainer.*, method.args.*) before the heavy imports
        return stage(cfg)
    except BaseException as e:
        # a single run that failed before any work leaves no outputs/DATE/TIME behind (a sweep's job dirs stay:
        # its summary lists them)
        if single:
            discard_unused_run_dir(HydraConfig.get().runtime.output_dir)
        if not isinstance(e, UserError) or not single:
            raise  # one job of a sweep: the sweeper records it as failed and goes on
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)


@checked(lambda: TrainConf, "train")  # the command line's keys and values, before Hydra composes
@hydra.main(config_path=CONF_DIR, config_name="train", version_base="1.3")
def train(cfg: DictConfig) -> float:
    """Train one model (model x method x data) and return the objective for a sweeper."""
    from llmsweep.launch import run_job
    from llmsweep.training.run import RECIPE

    return _run(lambda c: run_job(RECIPE, c), cfg, "train")


@checked(lambda: MergeRunConf, "merge")
@hydra.main(config_path=CONF_DIR, config_name="merge", version_base="1.3")
def merge(cfg: DictConfig) -> float:
    """Merge models with mergekit, evaluate the result, and return the objective for a sweeper."""
    from llmsweep.launch import run_job
    from llmsweep.merging.run import RECIPE

    return _run(lambda c: run_job(RECIPE, c), cfg, "merge")


def _rag_schema():
    from llmsweep.rag.config import RagRunConf

    return RagRunConf


@checked(_rag_schema, "rag")
@hydra.main(config_path=CONF_DIR, config_name="rag", version_base="1.3")
def rag(cfg: DictConfig) -> float:
    """Retrieve and answer a QA set over an index, judge the answers, and return the objective for a sweeper."""
    from llmsweep.launch import run_job
    from llmsweep.rag.run import RECIPE

    return _run(lambda c: run_job(RECIPE, c), cfg, "rag")


@hydra.main(config_path=CONF_DIR, config_name="serve", version_base="1.3")
def serve(cfg: DictConfig) -> None:
    """Serve one run dir over the OpenAI chat-completions protocol until interrupted."""
    from llmsweep.serving.server import run

    try:
        run(cfg)
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
