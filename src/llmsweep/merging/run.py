"""The merge recipe: (train the experts of a joint study) -> merge with mergekit -> evaluate -> answers.

A plain function of its composed config like the training recipe, run by the same harness
(`llmsweep.harness`, job_type=merge), so the same sweeper searches merge recipes. Which merged weights a
sweep keeps is the sweep's decision (`sweeping.retention`): with merge.keep=best this run only declares
`merged/` as kept while best.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from llmsweep.errors import UserError
from llmsweep.harness import Job, Outcome, Recipe, Run
from llmsweep.merging import moe, recipe
from llmsweep.merging.config import MOE

log = logging.getLogger(__name__)
MERGED = "merged"


def check(cfg: DictConfig) -> None:
    """A recipe without inputs fails before torch is even imported."""
    if str(cfg.merge.method) == MOE:
        moe.validate(cfg.merge)
    elif not cfg.joint.experts:
        recipe.require_models(cfg.merge)


def merge_run(cfg: DictConfig, run: Run) -> Outcome:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from llmsweep.merging import evaluate
    from llmsweep.merging.merge import merge
    from llmsweep.models.build import set_threads
    from llmsweep.models.tokenizer import ensure_chat_ready

    set_threads(cfg.get("threads"))
    splits = evaluate.eval_splits(cfg)  # data errors surface before the merge work
    experts = _train_experts(cfg, run.job) if cfg.joint.experts else {}
    keep = str(cfg.merge.keep)
    if keep == "best":
        run.keep_only_if_best(MERGED)
    try:
        merged = merge(cfg, run.run_dir / MERGED)
        run.tracker.log_config({"mergekit": merged.recipe})
        tokenizer = AutoTokenizer.from_pretrained(str(merged.out_dir))
        ensure_chat_ready(tokenizer)
        model = AutoModelForCausalLM.from_pretrained(str(merged.out_dir), dtype=getattr(torch, cfg.merge.dtype))
        model.generation_config.pad_token_id = tokenizer.pad_token_id
        with tempfile.TemporaryDirectory(
            dir=run.run_dir
        ) as scratch:  # the Trainer's output_dir; evaluation writes nothing
            metrics = evaluate.losses(cfg, model, tokenizer, splits, Path(scratch))
        answers = evaluate.answers(cfg, model, tokenizer, splits[""])
        del model
    finally:
        if keep == "none":
            _discard(run.run_dir / MERGED)
    metrics.update(merged.seconds, model_type=merged.model_type, recipe=merged.recipe)
    metrics.update({f"expert_{name}_eval_loss": v for name, v in experts.items()})
    metrics["kept"] = keep != "none"  # by this run; a sweep deletes it later once another trial is better
    metrics["merged_dir"] = str(merged.out_dir) if metrics["kept"] else None
    # judged like a training run's tuned answers
    return Outcome(
        metrics, answers, judged={"tuned": "merged_answer"}, model_dir=merged.out_dir if metrics["kept"] else None
    )


RECIPE = Recipe("merge", merge_run, check)


def run(cfg: DictConfig, job: Job | None = None):
    """Merge as `cfg` says, as one tracked run without controls; returns the objective."""
    from llmsweep.harness import execute

    return execute(RECIPE, cfg, job)


def _train_experts(cfg: DictConfig, job: Job) -> dict[str, float]:
    """Joint study: train the experts first (their configs and the recipe checked before any training)."""
    from llmsweep.merging import joint

    if str(cfg.merge.method) == MOE:
        raise UserError(
            "joint.experts trains the inputs of merge.models; merge=moe takes merge.experts with prompts. Fix: use another merge=."
        )
    configs = joint.expert_configs(cfg)
    recipe.validate(OmegaConf.merge(cfg.merge, {"models": [str(e.name) for e in cfg.joint.experts]}))
    dirs = joint.train_experts(cfg, job, configs)
    return {
        name: json.loads((Path(d) / "metrics.json").read_text(encoding="utf-8")).get("eval_loss")
        for name, d in zip(configs, dirs)
    }


def _discard(d: Path) -> None:
    if d.is_dir():
        shutil.rmtree(d, ignore_errors=True)
        log.info("deleted merged weights %s (merge.keep=none)", d)
