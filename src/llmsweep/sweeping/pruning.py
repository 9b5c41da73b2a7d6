"""Pruning inside training: the trial reports its eval metric at each evaluation and stops at once
when Optuna says so. The job rebuilds its trial handle from the shared storage (study name + trial id).
`PruningControl` is what the launch layer hands the run harness; the recipe never sees Optuna."""

from __future__ import annotations

from omegaconf import DictConfig
from transformers import TrainerCallback


def trial_handle(trial_cfg: DictConfig):
    """The sweep's trial, rebuilt in the job's process with the sweep's pruner (a study attribute)."""
    import optuna
    from omegaconf import OmegaConf

    from llmsweep.sweeping import optuna_internals
    from llmsweep.sweeping.study import make_pruner, make_storage

    storage = make_storage(str(trial_cfg.storage))
    name = str(trial_cfg.study_name)
    attrs = optuna.load_study(study_name=name, storage=storage).user_attrs
    pruner_conf = attrs.get("llmsweep.pruner", {"name": "none", "kwargs": {}})
    study = optuna.load_study(study_name=name, storage=storage, pruner=make_pruner(OmegaConf.create(pruner_conf)))
    return optuna_internals.trial_handle(study, int(trial_cfg.trial_id))


class PruningCallback(TrainerCallback):
    """Reports `eval_<metric>` after each evaluation; on a prune decision training stops. In a distributed
    trial only rank 0 holds the Optuna trial (`trial=None` elsewhere) and every rank follows its decision."""

    def __init__(self, trial, metric: str):
        self.trial = trial
        self.key = metric if metric.startswith("eval_") else f"eval_{metric}"
        self.pruned_at: int | None = None
        self.last_value: float | None = None

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        from llmsweep.training.distributed import agree

        if not metrics or self.key not in metrics:
            return
        self.last_value = float(metrics[self.key])
        prune = False
        if self.trial is not None:
            self.trial.report(self.last_value, state.global_step)
            prune = state.global_step > 0 and self.trial.should_prune()
        if agree(prune):
            self.pruned_at = state.global_step
            control.should_training_stop = True


class PruningControl:
    """A sweep trial's pruning for the run harness: the reporting callback, and a `Stop` raising
    `optuna.TrialPruned` (the sweeper records the trial PRUNED) once Optuna pruned it."""

    def __init__(self, trial_cfg: DictConfig, metric: str):
        from llmsweep.ranks import is_writer

        self.callback = PruningCallback(trial_handle(trial_cfg) if is_writer() else None, metric)
        self.number = trial_cfg.number

    def trainer_callback(self):
        return self.callback

    @property
    def stopping(self) -> bool:
        return self.callback.pruned_at is not None

    def stop(self, progress: dict):
        import logging

        import optuna

        from llmsweep.harness import Stop

        cb = self.callback
        if cb.pruned_at is None:
            return None
        logging.getLogger(__name__).info("trial %s pruned at step %d (%s)", self.number, cb.pruned_at, cb.last_value)
        summary = {"pruned": True, "pruned_at_step": cb.pruned_at, "last_value": cb.last_value, "trial_state": "PRUNED"}
        return Stop(
            "pruned", optuna.TrialPruned(f"pruned at step {cb.pruned_at} with {cb.key}={cb.last_value}"), summary
        )

    def close(self) -> None:
        pass
