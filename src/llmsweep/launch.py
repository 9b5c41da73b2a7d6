"""The launch layer: what a job gets from where it runs, handed to the run harness from outside the recipe.

- SLURM: several tasks per job (one per GPU) get torch.distributed's RANK/WORLD_SIZE/MASTER_ADDR from
  SLURM's variables (submitit's helper).
- Preemption: a scheduler's signal stops the trainer at a step boundary with a checkpoint; in the main thread
  the job then hands over to SLURM for a requeue (a sweep running trials in its threads does that itself).
- Pruning: a sweep trial reports to its Optuna study and stops when pruned.
"""

from __future__ import annotations

import os

from omegaconf import DictConfig

from llmsweep.harness import Recipe, execute, objective_keys


def export_distributed_env() -> None:
    if int(os.environ.get("SLURM_NTASKS", "1")) > 1 and "RANK" not in os.environ:
        import submitit

        submitit.helpers.TorchDistributedEnvironment().export()


def controls_for(cfg: DictConfig, stage: str) -> list:
    """Preemption for every run that trains (its config has `checkpoint`); pruning for a trial of a
    single-objective sweep (Optuna prunes single-objective studies only)."""
    controls = []
    if "checkpoint" in cfg:
        from llmsweep.training.preemption import PreemptionControl

        controls.append(PreemptionControl(list(cfg.checkpoint.signals)))
    keys = objective_keys(cfg)
    if stage == "train" and cfg.trial.study_name is not None and len(keys) == 1:
        from llmsweep.sweeping.pruning import PruningControl

        controls.append(PruningControl(cfg.trial, keys[0]))
    return controls


def run_job(recipe: Recipe, cfg: DictConfig):
    """One Hydra job of `recipe`: its objective, or the job requeued (preempted) / recorded pruned by the sweeper."""
    from llmsweep.training import preemption

    export_distributed_env()
    try:
        return execute(recipe, cfg, controls=controls_for(cfg, recipe.stage))
    except preemption.Preempted:
        if preemption.in_main_thread():
            preemption.hand_over()  # requeue and exit
        raise  # a trial in a sweep's worker thread: the sweep hands over once its trials stopped
