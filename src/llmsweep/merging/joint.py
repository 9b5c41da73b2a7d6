"""Joint study: a merge trial that first fine-tunes its experts (`joint.experts`, each a train.py
config with its own overrides plus the shared, searched `joint.train` keys), then merges them. One
Optuna study thus searches e.g. LoRA rank, learning rate or DPO beta together with the merge weights."""

from __future__ import annotations

import logging
from pathlib import Path

from omegaconf import DictConfig, OmegaConf, open_dict
from omegaconf.errors import OmegaConfBaseException

from llmsweep.errors import UserError
from llmsweep.paths import CONF_DIR

log = logging.getLogger(__name__)


def compose_train(overrides: list[str]) -> DictConfig:
    """train.py's composed config for `overrides` (inside a running Hydra app or not)."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.errors import HydraException

    from llmsweep.config import register_configs

    register_configs()
    try:
        if GlobalHydra.instance().is_initialized():
            return compose("train", overrides=overrides)
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
            return compose("train", overrides=overrides)
    except HydraException as e:
        raise UserError(f"joint.experts overrides {overrides}: {e}") from None


def expert_configs(cfg: DictConfig) -> dict[str, DictConfig]:
    """Every expert's train config, composed and checked before anything trains."""
    shared = OmegaConf.to_container(cfg.joint.train, resolve=True)
    out = {}
    for e in cfg.joint.experts:
        tcfg = compose_train(list(e.overrides))
        try:
            tcfg = OmegaConf.merge(tcfg, shared, {"seed": cfg.seed, "tracking": OmegaConf.to_container(cfg.tracking)})
        except OmegaConfBaseException as err:
            raise UserError(f"joint.train: {err.msg} (keys of train.py's config, e.g. method.lora.r)") from None
        out[str(e.name)] = tcfg
    if len(out) != len(cfg.joint.experts):
        raise UserError("joint.experts: two experts share a name; give each its own name")
    return out


def train_experts(cfg: DictConfig, job, configs: dict[str, DictConfig]) -> list[str]:
    """Train each expert into <run dir>/experts/<name>, each its own tracked run; their run dirs become merge.models."""
    from llmsweep.harness import Job
    from llmsweep.training.run import run as train

    dirs = []
    for name, tcfg in configs.items():
        run_dir = Path(job.run_dir) / "experts" / name
        log.info("joint: training expert %s", name)
        train(tcfg, Job(run_dir, f"{job.name}/{name}", (), job.group))
        dirs.append(str(run_dir))
    with open_dict(cfg):
        cfg.merge.models = dirs
    return dirs
