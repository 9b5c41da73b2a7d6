"""A merged model scored as a training run is: trl's SFT loss on eval splits (the same completion-only
loss as a run's eval_loss) and greedy answers to the first eval prompts."""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from llmsweep.errors import UserError


def eval_splits(cfg: DictConfig) -> dict:
    """{"": the data's eval split, NAME: each eval.sets entry (data.* overrides) -> its eval split}."""
    from llmsweep.data.loading import load_splits

    splits = {"": load_splits(cfg.data, "sft")[1]}
    for name, overrides in cfg.eval.sets.items():
        data = OmegaConf.merge(cfg.data, overrides)
        splits[name] = load_splits(data, "sft")[1]
    return splits


def losses(cfg: DictConfig, model, tokenizer, splits: dict, out_dir: Path) -> dict:
    """eval_loss (and eval_<name>_loss per eval set), with trl's SFTTrainer.evaluate."""
    import trl

    fields = {
        **OmegaConf.to_container(cfg.trainer, resolve=True),
        **OmegaConf.to_container(cfg.eval.args, resolve=True),
    }
    fields.update(output_dir=str(out_dir), report_to="none", seed=cfg.seed)
    try:
        args = trl.SFTConfig(**fields)
    except (TypeError, ValueError) as e:
        raise UserError(f"eval.args / trainer: {e} (fields of trl.SFTConfig)") from e
    datasets = {name or "main": ds for name, ds in splits.items()}
    # SFTTrainer requires a train set; the main eval split is only tokenized, never trained on
    trainer = trl.SFTTrainer(
        model=model, args=args, train_dataset=datasets["main"], eval_dataset=datasets, processing_class=tokenizer
    )
    metrics: dict = {}
    for name in datasets:
        prefix = "eval" if name == "main" else f"eval_{name}"
        out = trainer.evaluate(eval_dataset=name, metric_key_prefix=prefix)
        metrics.update({k: v for k, v in out.items() if isinstance(v, (int, float))})
    return metrics


def answers(cfg: DictConfig, model, tokenizer, eval_split) -> list[dict]:
    from llmsweep.generation import generate_answers

    probe = eval_split.select(range(min(cfg.generate.num_prompts, len(eval_split))))
    prompts = [ex["prompt"] for ex in probe]
    got = generate_answers(model, tokenizer, prompts, cfg.generate.max_new_tokens)
    return [
        {"prompt": ex["prompt"][-1]["content"], "reference": ex["completion"][0]["content"], "merged_answer": a}
        for ex, a in zip(probe, got)
    ]
