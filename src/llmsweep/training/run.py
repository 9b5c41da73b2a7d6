"""One training run: data -> model -> recipe -> evaluate -> answers -> save -> track.

Returns the objective (a metrics.json key, `objective` in the config) so any sweeper can use it.
Nothing here knows whether it runs in a sweep or on SLURM.
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from llmsweep.errors import UserError

log = logging.getLogger(__name__)


def job_info() -> dict:
    """Run name, W&B group and overrides of the current Hydra job."""
    hc = HydraConfig.get()
    info = {
        "run_dir": Path(hc.runtime.output_dir),
        "name": hc.job.override_dirname or "defaults",
        "overrides": list(hc.overrides.task),
        "group": None,
    }
    if hc.mode == RunMode.MULTIRUN:
        info["group"] = "-".join(Path(hc.sweep.dir).parts[-2:])
    return info


def summarize(log_history: list[dict], final_eval: dict, train_output) -> dict:
    evals = [e for e in log_history if "eval_loss" in e]
    metrics = {k: v for k, v in final_eval.items() if isinstance(v, (int, float))}
    metrics["train_loss"] = train_output.training_loss
    metrics["train_runtime"] = train_output.metrics.get("train_runtime")
    metrics["global_step"] = train_output.global_step
    if evals:
        metrics["initial_eval_loss"] = evals[0]["eval_loss"]
    metrics["history"] = log_history
    return metrics


def distributed_env_from_slurm() -> None:
    """Several SLURM tasks per job (one per GPU, `tasks_per_node` in the launcher config): give
    torch.distributed/accelerate their RANK/WORLD_SIZE/MASTER_ADDR from SLURM's variables (submitit's helper)."""
    import os

    if int(os.environ.get("SLURM_NTASKS", "1")) > 1 and "RANK" not in os.environ:
        import submitit

        submitit.helpers.TorchDistributedEnvironment().export()


def run(cfg: DictConfig, job: dict | None = None) -> float:
    """Train as `cfg` says. `job` (run_dir, name, overrides, group) defaults to the current Hydra job."""
    from transformers import set_seed

    from llmsweep.data.loading import load_splits
    from llmsweep.judging import judge_run
    from llmsweep.generation import generate_answers
    from llmsweep.training import preemption
    from llmsweep.training.trainer import build_trainer
    from llmsweep.models.build import load_model_and_tokenizer
    from llmsweep.tracking.accounting import DeviceClock
    from llmsweep.tracking.wandb_run import finish_run, start_run

    distributed_env_from_slurm()
    job = job or job_info()
    run_dir = Path(job["run_dir"])
    run_dir.mkdir(parents=True, exist_ok=True)
    clock = DeviceClock(run_dir)
    resume_from = preemption.latest_checkpoint(run_dir / "checkpoints") if cfg.checkpoint.resume else None
    if resume_from:
        log.info("resuming from %s", resume_from)
    set_seed(cfg.seed)
    train_ds, eval_ds = load_splits(cfg.data, str(cfg.method.recipe))
    model, tokenizer, source = load_model_and_tokenizer(cfg)
    log.info("model=%s scale=%s from %s; %d train / %d eval rows", cfg.model.name, cfg.scale, source, len(train_ds), len(eval_ds))

    probe = eval_ds.select(range(min(cfg.generate.num_prompts, len(eval_ds))))
    prompts = [ex["prompt"] for ex in probe]
    references = [(ex.get("completion") or ex.get("chosen"))[0]["content"] for ex in probe]
    base_answers = generate_answers(model, tokenizer, prompts, cfg.generate.max_new_tokens)

    keys = list(cfg.objective) if OmegaConf.is_list(cfg.objective) else [str(cfg.objective)]
    pruning = None
    if cfg.trial.study_name is not None and len(keys) == 1:  # Optuna prunes single-objective studies only
        from llmsweep.sweeping.pruning import PruningCallback, trial_handle

        pruning = PruningCallback(trial_handle(cfg.trial), keys[0])
    wb = start_run(cfg, run_dir, job)
    preemption.listen(list(cfg.checkpoint.signals))
    try:
        trainer = build_trainer(cfg, model, tokenizer, train_ds, eval_ds, run_dir, "wandb" if wb else "none", job["name"],
                                callbacks=[preemption.callback(), *([pruning] if pruning else [])])
        train_output = trainer.train(resume_from_checkpoint=resume_from)
        if preemption.caught() is not None:
            clock.stop()
            if wb is not None:
                wb.mark_preempting()
                wb.finish(exit_code=1)
                wb = None
            log.warning("checkpoint saved at step %d; handing over for requeue", trainer.state.global_step)
            if not preemption.in_main_thread():
                raise preemption.Preempted(f"checkpointed at step {trainer.state.global_step}")
            preemption.hand_over()
        if pruning is not None and pruning.pruned_at is not None:
            _record_pruned(cfg, run_dir, wb, pruning, trainer, clock.stop())
            wb = None
            import optuna

            raise optuna.TrialPruned(f"pruned at step {pruning.pruned_at} with {pruning.key}={pruning.last_value}")
        evals = [e for e in trainer.state.log_history if "eval_loss" in e]
        final_eval = evals[-1] if evals and evals[-1]["step"] == trainer.state.global_step else trainer.evaluate()
        trainer.save_model(str(run_dir / "model"))  # the adapter or full model, with the tokenizer and chat template
        tuned_answers = generate_answers(trainer.model, tokenizer, prompts, cfg.generate.max_new_tokens)

        answers = [
            {"prompt": p[-1]["content"], "reference": r, "base_answer": b, "tuned_answer": t}
            for p, r, b, t in zip(prompts, references, base_answers, tuned_answers)
        ]
        with open(run_dir / "answers.jsonl", "w", encoding="utf-8") as f:
            f.writelines(json.dumps(a, ensure_ascii=False) + "\n" for a in answers)

        metrics = summarize(trainer.state.log_history, final_eval, train_output)
        metrics.update(judge_run(cfg, run_dir, answers, wb))  # judgments.jsonl, judge_mean, W&B table
        metrics.update(clock.stop())
        missing = [k for k in keys if k not in metrics]
        if missing:
            have = sorted(k for k, v in metrics.items() if isinstance(v, (int, float)))
            raise UserError(f"objective={','.join(missing)} is not a metric of this run. Available: {', '.join(have)}")
        values = [float(metrics[k]) for k in keys]
        objective = values[0] if len(values) == 1 else values
        metrics["objective"] = objective
        (run_dir / "metrics.json").write_text(json.dumps(metrics, indent=2, ensure_ascii=False), encoding="utf-8")
        finish_run(wb, {k: v for k, v in metrics.items() if k != "history"}, answers)
        wb = None
    finally:
        preemption.stop_listening()
        if wb is not None:
            wb.finish(exit_code=1)
    log.info("%s = %s; outputs in %s", ",".join(keys), objective, run_dir)
    if any(math.isnan(v) for v in values):
        log.warning("objective is NaN")
    return objective


def _record_pruned(cfg: DictConfig, run_dir: Path, wb, pruning, trainer, accounting: dict) -> None:
    """A pruned trial's metrics.json and W&B summary say so; the caller raises TrialPruned."""
    metrics = {"pruned": True, "pruned_at_step": pruning.pruned_at, "last_value": pruning.last_value,
               "global_step": trainer.state.global_step, **accounting, "history": trainer.state.log_history}
    (run_dir / "metrics.json").write_text(json.dumps(metrics, indent=2, ensure_ascii=False), encoding="utf-8")
    if wb is not None:
        wb.summary["pruned"] = True
        wb.summary["pruned_at_step"] = pruning.pruned_at
        wb.summary["trial_state"] = "PRUNED"
        wb.summary["device_seconds"] = accounting["device_seconds"]
        wb.finish()
    log.info("trial %s pruned at step %d (%s)", cfg.trial.number, pruning.pruned_at, pruning.last_value)
