"""Optuna's private APIs, all in this module (pyproject.toml pins optuna to the minor these were checked on).

Each use says why no public API does. When a new Optuna minor moves one, this is the file to fix.
"""

from __future__ import annotations


def trial_id(trial) -> int:
    # Trial._trial_id / FrozenTrial._trial_id: the storage's key of a trial. A job in another process rebuilds its
    # trial handle from it (to report for pruning) and RDBStorage.record_heartbeat takes it; Optuna has no public
    # accessor (trial.number is per study, not the storage key).
    return trial._trial_id


def trial_handle(study, trial_id: int):
    """A handle on a RUNNING trial that this process did not ask: one adopted after a SLURM requeue, or a job's own
    trial rebuilt in its process for pruning (llmsweep.sweeping.pruning can use this)."""
    import optuna

    # optuna.trial.Trial(study, trial_id): the constructor is documented as internal ("use Study.ask"), but ask()
    # only makes new trials; reporting and user attrs need the handle.
    return optuna.trial.Trial(study, trial_id)
