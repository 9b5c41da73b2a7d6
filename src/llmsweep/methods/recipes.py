"""The two training recipes, each one trl trainer:

- sft: full, LoRA or QLoRA fine-tuning on prompt/completion conversations; trl computes the loss on
  the completion (the response) only.
- dpo: Direct Preference Optimization on prompt/chosen/rejected. With LoRA (or QLoRA) the reference
  model is the base with its adapters disabled (no second copy of the weights); without LoRA trl
  makes a frozen copy.
"""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig

from llmsweep.methods.common import lora_config, trl_config


def build_trainer(cfg: DictConfig, model, tokenizer, train_ds, eval_ds, run_dir: Path, report_to: str, run_name: str, callbacks=()):
    import trl

    config_cls, trainer_cls = {
        "sft": (trl.SFTConfig, trl.SFTTrainer),
        "dpo": (trl.DPOConfig, trl.DPOTrainer),
    }[str(cfg.method.recipe)]
    return trainer_cls(
        model=model,
        args=trl_config(config_cls, cfg, run_dir, report_to, run_name),
        train_dataset=train_ds,
        eval_dataset=eval_ds,
        processing_class=tokenizer,
        peft_config=lora_config(cfg),
        callbacks=list(callbacks),
    )
