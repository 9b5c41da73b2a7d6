"""Pruning inside training: the trial reports its eval metric at each evaluation and stops at once
when Optuna says so. The job rebuilds its trial handle from the shared storage (study name + trial id)."""

from __future__ import annotations

from omegaconf import DictConfig
from transformers import TrainerCallback


def trial_handle(trial_cfg: DictConfig):
    import optuna

    from omegaconf import OmegaConf

    from llmsweep.sweeping.study import make_pruner, make_storage

    storage = make_storage(str(trial_cfg.storage))
    name = str(trial_cfg.study_name)
    pruner_conf = optuna.load_study(study_name=name, storage=storage).user_attrs.get("llmsweep.pruner", {"name": "none", "kwargs": {}})
    study = optuna.load_study(study_name=name, storage=storage, pruner=make_pruner(OmegaConf.create(pruner_conf)))
    return optuna.trial.Trial(study, int(trial_cfg.trial_id))


class PruningCallback(TrainerCallback):
    """Reports `eval_<metric>` after each evaluation; on a prune decision training stops."""

    def __init__(self, trial, metric: str):
        self.trial = trial
        self.key = metric if metric.startswith("eval_") else f"eval_{metric}"
        self.pruned_at: int | None = None
        self.last_value: float | None = None

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        if not metrics or self.key not in metrics:
            return
        self.last_value = float(metrics[self.key])
        self.trial.report(self.last_value, state.global_step)
        if state.global_step > 0 and self.trial.should_prune():
            self.pruned_at = state.global_step
            control.should_training_stop = True
