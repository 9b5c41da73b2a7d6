"""Config of the `hydra/sweeper=llmsweep_optuna` sweeper (selected by every sweeps/*.yaml)."""


from dataclasses import dataclass, field
from typing import Any, Dict, Optional

from hydra.core.config_store import ConfigStore


@dataclass
class SamplerConf:
    name: str = "tpe"  # tpe | random | cmaes | nsga2 | grid
    seed: Optional[int] = 0
    kwargs: Dict[str, Any] = field(default_factory=dict)  # passed to the optuna sampler's constructor


@dataclass
class PrunerConf:
    name: str = "none"  # none | median | hyperband | successive_halving
    kwargs: Dict[str, Any] = field(default_factory=dict)  # passed to the optuna pruner's constructor


@dataclass
class LlmsweepOptunaConf:
    _target_: str = "hydra_plugins.llmsweep_sweeper.sweeper.LlmsweepOptunaSweeper"
    # search space in Hydra's override grammar: choice(...), interval(a,b), range(...), tag(log, interval(a,b))
    params: Dict[str, str] = field(default_factory=dict)
    n_trials: int = 10  # trials finished in the study (a re-run with the same study tops it up)
    n_workers: int = 1  # trials in flight at once; > 1 needs a launcher with its own processes (submitit_*)
    study_name: Optional[str] = None  # default: derived from the searched keys
    storage: Optional[str] = None  # default: sqlite:///<cwd>/multirun/optuna.sqlite3; journal:///path; postgresql://...
    direction: Any = "minimize"  # or a list for several objectives, e.g. [minimize, minimize]
    objective: Any = None  # metrics.json key(s) returned by each trial (default: the config's `objective`)
    sampler: SamplerConf = field(default_factory=SamplerConf)
    pruner: PrunerConf = field(default_factory=PrunerConf)
    max_retries: int = 1  # a trial whose worker died is re-run this many times with the same params
    heartbeat_s: int = 10  # RDB storages: a running trial silent for 3x this (its sweep process died) is failed and retried
    plots: bool = True  # optimization history, param importances, Pareto front (HTML + PNG) in the sweep dir


ConfigStore.instance().store(group="hydra/sweeper", name="llmsweep_optuna", node=LlmsweepOptunaConf, provider="llmsweep")
