"""Study storage, sampler and pruner from the sweeper's config."""

from __future__ import annotations

import inspect
import logging
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from llmsweep.errors import UserError


def storage_url(conf: DictConfig) -> str:
    if conf.storage:
        return str(conf.storage)
    path = Path.cwd() / "multirun" / "optuna.sqlite3"
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


def make_storage(url: str, heartbeat_s: int | None = None, on_stale=None):
    """journal:///path -> Optuna's journal file (shared filesystems); anything else is an RDB URL.
    With `heartbeat_s`, RDB trials silent for 3x that long are failed and handed to `on_stale`."""
    import optuna
    from optuna.storages.journal import JournalFileBackend, JournalStorage

    if url.startswith("journal://"):
        path = Path(url[len("journal://"):])
        path.parent.mkdir(parents=True, exist_ok=True)
        return JournalStorage(JournalFileBackend(str(path)))
    import time

    from sqlalchemy.exc import SQLAlchemyError

    import warnings

    from optuna.exceptions import ExperimentalWarning

    warnings.filterwarnings("ignore", category=ExperimentalWarning)  # heartbeat_interval: experimental since Optuna 2.9, still there
    for attempt in range(5):
        try:
            return optuna.storages.RDBStorage(
                url,
                engine_kwargs={"pool_pre_ping": True},
                heartbeat_interval=heartbeat_s,
                grace_period=3 * heartbeat_s if heartbeat_s else None,
                heartbeat_stale_trial_callback=on_stale,  # renamed from failed_trial_callback in Optuna 4.9
            )
        except SQLAlchemyError:
            # sweeps started together race to create the schema; the loser finds it made on retry
            if attempt == 4:
                raise
            time.sleep(0.5 + attempt)


def make_sampler(conf: DictConfig, space: dict):
    import optuna

    kwargs = OmegaConf.to_container(conf.kwargs, resolve=True)
    name, seed = conf.name, conf.seed
    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed, **kwargs)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed, **kwargs)
    if name == "cmaes":
        return optuna.samplers.CmaEsSampler(seed=seed, **kwargs)
    if name == "nsga2":
        return optuna.samplers.NSGAIISampler(seed=seed, **kwargs)
    if name == "grid":
        grid = {}
        for k, d in space.items():
            if not hasattr(d, "choices"):
                raise UserError(f"sampler=grid needs choice(...) or range(...) for every key; {k} is {type(d).__name__}")
            grid[k] = list(d.choices)
        return optuna.samplers.GridSampler(grid, seed=seed)
    raise UserError(f"hydra.sweeper.sampler.name={name}: use tpe, random, cmaes, nsga2 or grid")


def make_pruner(conf: DictConfig):
    import optuna

    kwargs = OmegaConf.to_container(conf.kwargs, resolve=True)
    pruners = {
        "none": optuna.pruners.NopPruner,
        "median": optuna.pruners.MedianPruner,
        "hyperband": optuna.pruners.HyperbandPruner,
        "successive_halving": optuna.pruners.SuccessiveHalvingPruner,
    }
    if conf.name not in pruners:
        raise UserError(f"hydra.sweeper.pruner.name={conf.name}: use {', '.join(pruners)}")
    cls = pruners[conf.name]
    # kwargs written for another pruner (a sweep file's median settings, then pruner.name=hyperband) are dropped, loudly
    accepted = inspect.signature(cls).parameters
    ignored = sorted(k for k in kwargs if k not in accepted)
    if ignored:
        logging.getLogger(__name__).warning("pruner.kwargs %s do not apply to %s and are ignored", ignored, cls.__name__)
    return cls(**{k: v for k, v in kwargs.items() if k in accepted})
