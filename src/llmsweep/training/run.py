"""The training recipe: data -> model -> trl trainer -> evaluate -> save -> answers.

A plain function of its composed config: `run(cfg, run) -> Outcome`. The run harness (`llmsweep.harness`)
writes the files, judges the answers, tracks the run and turns metrics into the objective; preemption and
pruning reach the trainer only as `run.trainer_callbacks()`.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from omegaconf import DictConfig

from llmsweep.harness import Outcome, Recipe, Run

log = logging.getLogger(__name__)


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


def train(cfg: DictConfig, run: Run) -> Outcome:
    from llmsweep.data.loading import load_splits
    from llmsweep.generation import generate_answers
    from llmsweep.models.build import load_model_and_tokenizer
    from llmsweep.training.distributed import parameter_bytes
    from llmsweep.training.preemption import latest_checkpoint
    from llmsweep.training.trainer import build_trainer

    resume_from = latest_checkpoint(run.run_dir / "checkpoints") if cfg.checkpoint.resume else None
    if resume_from:
        log.info("resuming from %s", resume_from)
    train_ds, eval_ds = load_splits(cfg.data, str(cfg.method.recipe))
    model, tokenizer, source = load_model_and_tokenizer(cfg)
    log.info(
        "model=%s scale=%s from %s; %d train / %d eval rows",
        cfg.model.name,
        cfg.scale,
        source,
        len(train_ds),
        len(eval_ds),
    )

    probe = eval_ds.select(range(min(cfg.generate.num_prompts, len(eval_ds))))
    prompts = [ex["prompt"] for ex in probe]
    references = [(ex.get("completion") or ex.get("chosen"))[0]["content"] for ex in probe]
    base_answers = _base_answers(cfg, source, model, tokenizer, prompts)

    trainer = build_trainer(
        cfg,
        model,
        tokenizer,
        train_ds,
        eval_ds,
        run.run_dir,
        run.tracker.report_to,
        run.job.name,
        callbacks=run.trainer_callbacks(),
    )
    train_output = trainer.train(resume_from_checkpoint=resume_from)
    if run.stopping:  # preempted or pruned: the harness finishes the run from here
        return Outcome({"global_step": trainer.state.global_step, "history": trainer.state.log_history})

    evals = [e for e in trainer.state.log_history if "eval_loss" in e]
    final_eval = evals[-1] if evals and evals[-1]["step"] == trainer.state.global_step else trainer.evaluate()
    if trainer.is_fsdp_enabled:  # checkpoints stay sharded; model/ is one loadable model (gathered on rank 0)
        trainer.accelerator.state.fsdp_plugin.set_state_dict_type("FULL_STATE_DICT")
    trainer.save_model(str(run.run_dir / "model"))  # the adapter or full model, with the tokenizer and chat template
    tuned_answers = generate_answers(trainer.model, tokenizer, prompts, cfg.generate.max_new_tokens)
    answers = [
        {"prompt": p[-1]["content"], "reference": r, "base_answer": b, "tuned_answer": t}
        for p, r, b, t in zip(prompts, references, base_answers, tuned_answers)
    ]
    metrics = summarize(trainer.state.log_history, final_eval, train_output)
    metrics["parameter_bytes_per_rank"] = parameter_bytes(trainer.model)
    return Outcome(metrics, answers)


def check(cfg: DictConfig) -> None:
    """What can be refused before torch is imported: a data path that is not there."""
    from llmsweep.errors import UserError

    path = Path(str(cfg.data.path)).expanduser()
    if not path.exists():
        raise UserError(
            f"data.path {path}: no such file or directory. Fix: point data.path at a JSON Lines file or at "
            "the --out directory of `python -m llmsweep.data mix`."
        )


def _base_answers(cfg: DictConfig, source: str, model, tokenizer, prompts: list) -> list[str]:
    """The base model's greedy answers, cached: every run of a sweep on one base asks the same prompts of the same
    weights (the key holds the checkpoint, its quantization and dtype, the prompts and the length)."""
    import hashlib
    import json

    from omegaconf import OmegaConf

    from llmsweep.generation import generate_answers
    from llmsweep.paths import cache_root

    if str(cfg.scale) == "full" and not Path(source).is_dir():
        return generate_answers(model, tokenizer, prompts, cfg.generate.max_new_tokens)  # no stable identity to key on
    key = hashlib.sha256(
        json.dumps(
            {
                "source": str(Path(source).resolve()),
                "revision": cfg.model.revision,
                "dtype": str(cfg.model.dtype),
                "quantization": OmegaConf.to_container(cfg.method.quantization, resolve=True)
                if cfg.method.quantization
                else None,
                "prompts": prompts,
                "max_new_tokens": cfg.generate.max_new_tokens,
            },
            sort_keys=True,
            ensure_ascii=False,
        ).encode()
    ).hexdigest()[:24]
    path = cache_root(cfg) / "base_answers" / f"{key}.json"
    if path.exists():
        return json.loads(path.read_text(encoding="utf-8"))
    answers = generate_answers(model, tokenizer, prompts, cfg.generate.max_new_tokens)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(answers, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)  # concurrent runs never read half a file
    return answers


RECIPE = Recipe("train", train, check)


def run(cfg: DictConfig, job=None):
    """Train as `cfg` says, as one tracked run without controls (tests, benches, a joint merge's experts);
    returns the objective. `job` (a harness.Job) defaults to the current Hydra job."""
    from llmsweep.harness import execute

    return execute(RECIPE, cfg, job)
