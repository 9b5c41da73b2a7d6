"""One merge run: merge (mergekit) -> evaluate -> answers -> metrics.json -> W&B (job_type=merge).

Returns the objective (a metrics.json key) like a training run, so the same sweeper searches merge
recipes. Nothing here knows whether it runs in a sweep."""

from __future__ import annotations

import json
import logging
import tempfile
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from llmsweep.errors import UserError
from llmsweep.merging import moe, recipe

log = logging.getLogger(__name__)


def run(cfg: DictConfig, job: dict | None = None):
    # a recipe without inputs fails before torch is even imported
    if str(cfg.merge.method) == "moe":
        moe.validate(cfg.merge)
    elif not cfg.joint.experts:
        recipe.require_models(cfg.merge)

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, set_seed

    from llmsweep.merging import evaluate
    from llmsweep.merging.merge import merge
    from llmsweep.merging.retention import MERGED, discard, retain
    from llmsweep.models.tokenizer import ensure_chat_ready
    from llmsweep.judging import judge_run
    from llmsweep.tracking.wandb_run import finish_run, start_run
    from llmsweep.training.run import job_info

    job = job or job_info()
    run_dir = Path(job["run_dir"])
    run_dir.mkdir(parents=True, exist_ok=True)
    set_seed(cfg.seed)
    keys = list(cfg.objective) if OmegaConf.is_list(cfg.objective) else [str(cfg.objective)]
    splits = evaluate.eval_splits(cfg)  # data errors surface before the merge work
    experts = _train_experts(cfg, job) if cfg.joint.experts else {}

    merged = merge(cfg, run_dir / MERGED)
    wb = start_run(cfg, run_dir, job, stage="merge")
    try:
        if wb is not None:
            wb.config.update({"mergekit": merged.recipe})
        tokenizer = AutoTokenizer.from_pretrained(str(merged.out_dir))
        ensure_chat_ready(tokenizer)
        model = AutoModelForCausalLM.from_pretrained(str(merged.out_dir), dtype=getattr(torch, cfg.merge.dtype))
        model.generation_config.pad_token_id = tokenizer.pad_token_id
        with tempfile.TemporaryDirectory(dir=run_dir) as scratch:  # the Trainer's output_dir; evaluation writes nothing
            metrics = evaluate.losses(cfg, model, tokenizer, splits, Path(scratch))
        answers = evaluate.answers(cfg, model, tokenizer, splits[""])
        del model
        with open(run_dir / "answers.jsonl", "w", encoding="utf-8") as f:
            f.writelines(json.dumps(a, ensure_ascii=False) + "\n" for a in answers)

        # judged like a training run's tuned answers: judgments.jsonl, judge_mean, W&B table
        metrics.update(judge_run(cfg, run_dir, [{**a, "tuned_answer": a["merged_answer"]} for a in answers], wb))
        missing = [k for k in keys if k not in metrics]
        if missing:
            raise UserError(f"objective={','.join(missing)} is not a metric of this merge. Available: {', '.join(sorted(metrics))}")
        values = [float(metrics[k]) for k in keys]
        objective = values[0] if len(values) == 1 else values
        metrics.update(merged.seconds, objective=objective, model_type=merged.model_type)
        metrics.update({f"expert_{name}_eval_loss": v for name, v in experts.items()})
        metrics["kept"] = retain(cfg, merged.out_dir, objective)
        metrics["merged_dir"] = str(merged.out_dir) if metrics["kept"] else None
        metrics["recipe"] = merged.recipe
        (run_dir / "metrics.json").write_text(json.dumps(metrics, indent=2, ensure_ascii=False), encoding="utf-8")
        if wb is not None and metrics["kept"]:
            _log_model_reference(wb, merged.out_dir)
        finish_run(wb, metrics, answers)
        wb = None
    except BaseException:
        if cfg.trial.study_name is not None and str(cfg.merge.keep) != "all":
            discard(merged.out_dir)  # a failed trial of a sweep leaves no weights behind
        raise
    finally:
        if wb is not None:
            wb.finish(exit_code=1)
    log.info("%s = %s; outputs in %s", ",".join(keys), objective, run_dir)
    return objective


def _train_experts(cfg: DictConfig, job: dict) -> dict[str, float]:
    """Joint study: train the experts first (their configs and the recipe checked before any training)."""
    from llmsweep.merging import joint

    if str(cfg.merge.method) == "moe":
        raise UserError("joint.experts trains the inputs of merge.models; merge=moe takes merge.experts with prompts. Fix: use another merge=.")
    configs = joint.expert_configs(cfg)
    recipe.validate(OmegaConf.merge(cfg.merge, {"models": [str(e.name) for e in cfg.joint.experts]}))
    dirs = joint.train_experts(cfg, job, configs)
    return {name: json.loads((Path(d) / "metrics.json").read_text(encoding="utf-8")).get("eval_loss") for name, d in zip(configs, dirs)}


def _log_model_reference(wb, model_dir: Path) -> None:
    """The merged model as a W&B artifact *reference* (a file:// URI, no upload of the weights)."""
    import wandb

    art = wandb.Artifact(f"merge-{wb.id}", type="model", metadata={"path": str(model_dir)})
    art.add_reference(model_dir.resolve().as_uri(), checksum=False)
    wb.log_artifact(art)
