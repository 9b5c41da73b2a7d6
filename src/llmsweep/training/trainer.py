"""The two training recipes, each one trl trainer:

- sft: full, LoRA or QLoRA fine-tuning on prompt/completion conversations; trl computes the loss on
  the completion (the response) only.
- dpo: Direct Preference Optimization on prompt/chosen/rejected. With LoRA (or QLoRA) the reference
  model is the base with its adapters disabled (no second copy of the weights); without LoRA trl
  makes a frozen copy.
"""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from llmsweep.errors import UserError


def trl_config(config_cls, cfg: DictConfig, run_dir: Path, report_to: str, run_name: str):
    """trl's own config from `trainer` (shared TrainingArguments) overlaid with `method.args`."""
    from llmsweep.training.distributed import trainer_settings

    fields = {
        **OmegaConf.to_container(cfg.trainer, resolve=True),
        **OmegaConf.to_container(cfg.method.args, resolve=True),
        **trainer_settings(cfg),  # DDP / FSDP / DeepSpeed, when the trial runs as several processes
    }
    fields.update(
        output_dir=str(run_dir / "checkpoints"),
        seed=cfg.seed,
        data_seed=cfg.seed,
        report_to=[report_to] if report_to != "none" else "none",
        run_name=run_name,
    )
    try:
        return config_cls(**fields)
    except TypeError as e:
        raise UserError(f"method={cfg.method.name}: {e}. Fix the key under trainer.* or method.args.* (fields of trl.{config_cls.__name__}).") from e
    except ValueError as e:
        raise UserError(f"method={cfg.method.name}: invalid trl.{config_cls.__name__} setting: {e}") from e


def lora_config(cfg: DictConfig):
    if not cfg.method.lora:
        return None
    from peft import LoraConfig

    fields = OmegaConf.to_container(cfg.method.lora, resolve=True)
    try:
        return LoraConfig(**fields)
    except (TypeError, ValueError) as e:
        raise UserError(f"method={cfg.method.name}: method.lora: {e} (fields of peft.LoraConfig)") from e


def build_trainer(cfg: DictConfig, model, tokenizer, train_ds, eval_ds, run_dir: Path, report_to: str, run_name: str, callbacks=()):
    import trl

    config_cls, trainer_cls = {
        "sft": (trl.SFTConfig, trl.SFTTrainer),
        "dpo": (trl.DPOConfig, trl.DPOTrainer),
    }[str(cfg.method.recipe)]
    from llmsweep.trainer_log import quiet_metrics

    return quiet_metrics(trainer_cls(
        model=model,
        args=trl_config(config_cls, cfg, run_dir, report_to, run_name),
        train_dataset=train_ds,
        eval_dataset=eval_ds,
        processing_class=tokenizer,
        peft_config=lora_config(cfg),
        callbacks=list(callbacks),
    ))
