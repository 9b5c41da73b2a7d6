"""Study storage, sampler and pruner from the sweeper's config."""

from __future__ import annotations

import inspect
import logging
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from llmsweep.errors import UserError
from llmsweep.sweeping.space import SearchSpace

log = logging.getLogger(__name__)


def storage_url(conf: DictConfig) -> str:
    if conf.storage:
        return str(conf.storage)
    path = Path.cwd() / "multirun" / "optuna.sqlite3"
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


def make_storage(url: str, heartbeat_s: int | None = None, on_stale=None):
    """journal:///path -> Optuna's journal file (shared filesystems); anything else is an RDB URL.
    With `heartbeat_s`, RDB trials silent for 3x that long are failed and handed to `on_stale`."""
    import time
    import warnings

    import optuna
    from optuna.exceptions import ExperimentalWarning
    from optuna.storages.journal import JournalFileBackend, JournalStorage
    from sqlalchemy.exc import SQLAlchemyError

    if url.startswith("journal://"):
        path = Path(url[len("journal://") :])
        path.parent.mkdir(parents=True, exist_ok=True)
        return JournalStorage(JournalFileBackend(str(path)))
    # heartbeat_interval: experimental since Optuna 2.9, still there
    warnings.filterwarnings("ignore", category=ExperimentalWarning)
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


# hydra.sweeper.{sampler,pruner}.name -> the Optuna class. Samplers also get `seed` (sampler.seed), the grid sampler
# its grid from the search space; everything else comes from `kwargs` under one rule (`_kwargs`).
OPTUNA_CLASSES = {
    "sampler": {
        "tpe": "TPESampler",
        "random": "RandomSampler",
        "cmaes": "CmaEsSampler",
        "nsga2": "NSGAIISampler",
        "grid": "GridSampler",
    },
    "pruner": {
        "none": "NopPruner",
        "median": "MedianPruner",
        "hyperband": "HyperbandPruner",
        "successive_halving": "SuccessiveHalvingPruner",
    },
}


def make_sampler(conf: DictConfig, space: SearchSpace, trials_so_far: int = 0):
    """The sampler, seeded with `sampler.seed + trials_so_far`: a continued study (more n_trials for the same
    study_name) must not replay the points its first trials drew from the same seed."""
    given = {"seed": None if conf.seed is None else int(conf.seed) + trials_so_far}
    if conf.name == "grid":
        given["search_space"] = space.grid()
    return _build("sampler", conf, given)


def make_pruner(conf: DictConfig):
    return _build("pruner", conf, {})


def _build(what: str, conf: DictConfig, given: dict):
    import optuna

    table = OPTUNA_CLASSES[what]
    if conf.name not in table:
        raise UserError(f"hydra.sweeper.{what}.name={conf.name} is not known: use one of {', '.join(table)}")
    module = optuna.samplers if what == "sampler" else optuna.pruners
    classes = {name: getattr(module, cls) for name, cls in table.items()}
    return classes[conf.name](**given, **_kwargs(conf, classes, what, given))


def _kwargs(conf: DictConfig, classes: dict, what: str, given: dict) -> dict:
    """`conf.kwargs` for the chosen class under the one rule for samplers and pruners: a key that no class of the
    table takes (a typo) is an error naming it and what the chosen class accepts; a key that another one takes (a
    sweep file's median settings, then pruner.name=none on the command line) is dropped with a warning."""
    cls = classes[conf.name]
    kwargs = OmegaConf.to_container(conf.kwargs, resolve=True)
    for key in kwargs:
        if key in given:
            source = "hydra.sweeper.params" if key == "search_space" else f"hydra.sweeper.{what}.{key}"
            raise UserError(
                f"hydra.sweeper.{what}.kwargs.{key}: set by llmsweep for {cls.__name__} "
                f"(use {source}); remove it with ~hydra.sweeper.{what}.kwargs.{key}"
            )
    accepted = _parameters(cls) - set(given)
    known = set().union(*(_parameters(c) for c in classes.values()))
    unknown = [k for k in kwargs if k not in known]
    if unknown:
        raise UserError(
            f"hydra.sweeper.{what}.kwargs {', '.join(unknown)}: not a parameter of any {what} "
            f"({what}.name={conf.name} takes {', '.join(sorted(accepted)) or 'none'}); fix the name "
            f"or remove it with " + " ".join(f"~hydra.sweeper.{what}.kwargs.{k}" for k in unknown)
        )
    ignored = sorted(k for k in kwargs if k not in accepted)
    if ignored:
        log.warning("hydra.sweeper.%s.kwargs %s do not apply to %s and are ignored", what, ignored, cls.__name__)
    return {k: v for k, v in kwargs.items() if k in accepted}


def _parameters(cls) -> set[str]:
    return {
        p.name
        for p in inspect.signature(cls).parameters.values()
        if p.kind is p.KEYWORD_ONLY or p.kind is p.POSITIONAL_OR_KEYWORD
    }
