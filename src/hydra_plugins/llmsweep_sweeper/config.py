"""Config of the `hydra/sweeper=llmsweep_optuna` sweeper (selected by every sweeps/*.yaml)."""

from dataclasses import dataclass, field
from typing import Any, Dict, Optional

from hydra.core.config_store import ConfigStore


@dataclass
class SamplerConf:
    name: str = "tpe"  # tpe | random | cmaes | nsga2 | grid
    seed: Optional[int] = 0  # plus the number of trials already in the study: a continued study draws new points
    # passed to the optuna sampler's constructor; a key no sampler takes is an error, one another takes is dropped
    kwargs: Dict[str, Any] = field(default_factory=dict)


@dataclass
class PrunerConf:
    name: str = "none"  # none | median | hyperband | successive_halving
    # passed to the optuna pruner's constructor; a key no pruner takes is an error, one another takes is dropped
    kwargs: Dict[str, Any] = field(default_factory=dict)


@dataclass
class LlmsweepOptunaConf:
    _target_: str = "hydra_plugins.llmsweep_sweeper.sweeper.LlmsweepOptunaSweeper"
    # search space in Hydra's override grammar: choice(...), interval(a,b), range(...), tag(log, interval(a,b))
    params: Dict[str, str] = field(default_factory=dict)
    n_trials: int = 10  # trials finished in the study (a re-run with the same study tops it up)
    # trials in flight at once; > 1 needs a launcher that runs jobs in their own processes (submitit_*; see
    # llmsweep.sweeping.launchers)
    n_workers: int = 1
    study_name: Optional[str] = None  # default: derived from the searched keys
    storage: Optional[str] = None  # default: sqlite:///<cwd>/multirun/optuna.sqlite3; journal:///path; postgresql://...
    direction: Any = "minimize"  # or a list for several objectives, e.g. [minimize, minimize]
    objective: Any = None  # metrics.json key(s) returned by each trial (default: the config's `objective`)
    sampler: SamplerConf = field(default_factory=SamplerConf)
    pruner: PrunerConf = field(default_factory=PrunerConf)
    max_retries: int = 1  # a trial whose worker died is re-run this many times with the same params
    # RDB storages: a running trial silent for 3x this (its sweep process died) is failed and retried
    heartbeat_s: int = 10
    plots: bool = True  # optimization history, param importances, Pareto front (HTML + PNG) in the sweep dir


ConfigStore.instance().store(
    group="hydra/sweeper", name="llmsweep_optuna", node=LlmsweepOptunaConf, provider="llmsweep"
)
