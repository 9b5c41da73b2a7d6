"""Study storage, sampler and pruner from the sweeper's config."""

from __future__ import annotations

import inspect
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from llmsweep.errors import UserError
from llmsweep.sweeping.space import SearchSpace


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
        path = Path(url[len("journal://"):])
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
    "sampler": {"tpe": "TPESampler", "random": "RandomSampler", "cmaes": "CmaEsSampler", "nsga2": "NSGAIISampler",
                "grid": "GridSampler"},
    "pruner": {"none": "NopPruner", "median": "MedianPruner", "hyperband": "HyperbandPruner",
               "successive_halving": "SuccessiveHalvingPruner"},
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
    cls = getattr(optuna.samplers if what == "sampler" else optuna.pruners, table[conf.name])
    return cls(**given, **_kwargs(conf, cls, what, given))


def _kwargs(conf: DictConfig, cls, what: str, given: dict) -> dict:
    """`conf.kwargs`, each one a parameter of `cls` not already set from another field. The one rule for samplers
    and pruners: any other key (a typo, or kwargs written for another sampler or pruner) is an error naming the
    keys, what `cls` accepts and the overrides that remove them; nothing is silently dropped."""
    kwargs = OmegaConf.to_container(conf.kwargs, resolve=True)
    accepted = [p for p in inspect.signature(cls).parameters if p not in given and p not in ("self", "args", "kwargs")]
    for key in kwargs:
        if key in given:
            source = "hydra.sweeper.params" if key == "search_space" else f"hydra.sweeper.{what}.{key}"
            raise UserError(f"hydra.sweeper.{what}.kwargs.{key}: set by llmsweep for {cls.__name__} "
                            f"(use {source}); remove it with ~hydra.sweeper.{what}.kwargs.{key}")
    unknown = [k for k in kwargs if k not in accepted]
    if unknown:
        removal = " ".join(f"~hydra.sweeper.{what}.kwargs.{k}" for k in unknown)
        raise UserError(f"hydra.sweeper.{what}.kwargs {', '.join(unknown)}: not parameters of {cls.__name__} "
                        f"({what}.name={conf.name}), which accepts {', '.join(accepted) or 'none'}; "
                        f"fix the name or remove them with {removal}")
    return kwargs
