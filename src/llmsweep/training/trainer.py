"""The two training recipes, each one trl trainer:

- sft: full, LoRA or QLoRA fine-tuning on prompt/completion conversations; trl computes the loss on
  the completion (the response) only.
- dpo: Direct Preference Optimization on prompt/chosen/rejected. With LoRA (or QLoRA) the reference
  model is the base with its adapters disabled (no second copy of the weights); without LoRA trl
  makes a frozen copy.
"""

from __future__ import annotations

import logging
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from llmsweep.errors import UserError

log = logging.getLogger(__name__)


def trl_config(config_cls, cfg: DictConfig, run_dir: Path, report_to: str, run_name: str):
    """trl's own config from `trainer` (shared TrainingArguments) overlaid with `method.args`. The trainer pickles
    it into training_args.bin (checkpoints/, model/): it holds no secret (`run_name` is redacted, and a secret
    field such as hub_token is refused: the Hub client reads HF_TOKEN from the environment)."""
    from llmsweep.tracking.secrets import looks_secret, redact
    from llmsweep.training.distributed import trainer_settings

    fields = {
        **OmegaConf.to_container(cfg.trainer, resolve=True),
        **OmegaConf.to_container(cfg.method.args, resolve=True),
        **trainer_settings(cfg),  # DDP / FSDP / DeepSpeed, when the trial runs as several processes
    }
    for key, value in fields.items():
        if looks_secret(key) and value:
            where = "method.args" if key in cfg.method.args else "trainer"
            raise UserError(
                f"{where}.{key}: a secret in the trainer's arguments is saved with every checkpoint and "
                f"model (training_args.bin); remove it (~{where}.{key}) and export HF_TOKEN instead"
            )
    fields.update(
        output_dir=str(run_dir / "checkpoints"),
        seed=cfg.seed,
        data_seed=cfg.seed,
        report_to=[report_to] if report_to != "none" else "none",
        run_name=redact(run_name),  # the job's overrides: W&B (through transformers) and training_args.bin get it
    )
    try:
        return config_cls(**fields)
    except TypeError as e:
        raise UserError(
            f"method={cfg.method.name}: {e}. Fix the key under trainer.* or method.args.* (fields of trl.{config_cls.__name__})."
        ) from e
    except ValueError as e:
        raise UserError(f"method={cfg.method.name}: invalid trl.{config_cls.__name__} setting: {e}") from e


def fit_max_length(args, context: int, method: str) -> None:
    """`method.args.max_length` null means the model's context length (its config's max_position_embeddings, via
    the tokenizer: llmsweep.models.tokenizer.lengths_from_config); a longer one is cut to it."""
    if args.max_length is not None and args.max_length > context:
        log.warning(
            "method=%s: max_length=%d is longer than the model's context; using %d", method, args.max_length, context
        )
    if args.max_length is None or args.max_length > context:
        args.max_length = context


def lora_config(cfg: DictConfig):
    if not cfg.method.lora:
        return None
    from peft import LoraConfig

    fields = OmegaConf.to_container(cfg.method.lora, resolve=True)
    try:
        return LoraConfig(**fields)
    except (TypeError, ValueError) as e:
        raise UserError(f"method={cfg.method.name}: method.lora: {e} (fields of peft.LoraConfig)") from e


def build_trainer(
    cfg: DictConfig, model, tokenizer, train_ds, eval_ds, run_dir: Path, report_to: str, run_name: str, callbacks=()
):
    import trl

    config_cls, trainer_cls = {
        "sft": (trl.SFTConfig, trl.SFTTrainer),
        "dpo": (trl.DPOConfig, trl.DPOTrainer),
    }[str(cfg.method.recipe)]
    from llmsweep.trainer_log import quiet_metrics
    from llmsweep.training.distributed import trainer_class

    args = trl_config(config_cls, cfg, run_dir, report_to, run_name)
    fit_max_length(args, tokenizer.model_max_length, cfg.method.name)
    trainer = quiet_metrics(
        trainer_class(trainer_cls, args)(
            model=model,
            args=args,
            train_dataset=train_ds,
            eval_dataset=eval_ds,
            processing_class=tokenizer,
            peft_config=lora_config(cfg),
            callbacks=list(callbacks),
        )
    )
    given = {"train": len(train_ds), "eval": len(eval_ds)}
    check_rows_left(trainer, cfg.method.name, given, tokenizer.model_max_length)
    return trainer


def check_rows_left(trainer, method: str, given: dict, context: int) -> None:
    """trl drops rows that max_length leaves without a trained token (a real tokenizer on Korean text spends
    hundreds of tokens on a prompt); with none left a run would end without an eval loss, for no visible reason."""
    for split, dataset in (("train", trainer.train_dataset), ("eval", trainer.eval_dataset)):
        if dataset is not None and hasattr(dataset, "__len__") and len(dataset) == 0:
            raise UserError(
                f"method={method}: none of the {given[split]} {split} rows fits method.args.max_length="
                f"{trainer.args.max_length} tokens (trl drops rows whose prompt fills it). Fix: raise "
                f"method.args.max_length (up to the model's context, {context}) or use shorter rows."
            )
