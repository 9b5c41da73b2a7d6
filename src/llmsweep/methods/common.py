"""What both recipes share: trl config from Hydra config, peft config, answer generation."""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from llmsweep.errors import UserError


def trl_config(config_cls, cfg: DictConfig, run_dir: Path, report_to: str, run_name: str):
    """trl's own config from `trainer` (shared TrainingArguments) overlaid with `method.args`."""
    fields = {
        **OmegaConf.to_container(cfg.trainer, resolve=True),
        **OmegaConf.to_container(cfg.method.args, resolve=True),
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


def chat_batch(tokenizer, prompts: list[list[dict]], device):
    """Chat prompts through the tokenizer's own chat template, as one left-padded batch on `device`."""
    texts = [tokenizer.apply_chat_template(p, tokenize=False, add_generation_prompt=True) for p in prompts]
    side = tokenizer.padding_side
    tokenizer.padding_side = "left"
    try:
        # the template writes bos itself
        return tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False).to(device)
    finally:
        tokenizer.padding_side = side


def generate_new_tokens(model, tokenizer, batch, **generate_kwargs):
    """`model.generate` in eval mode without gradients; returns only the generated tokens of each row."""
    import torch

    # trl turns on MoE router logits for the aux loss; with a KV cache they break generation
    extra = {"output_router_logits": False} if getattr(model.config, "output_router_logits", False) else {}
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            out = model.generate(
                **batch,
                pad_token_id=tokenizer.pad_token_id,
                eos_token_id=tokenizer.eos_token_id,
                tokenizer=tokenizer,  # for `stop_strings`
                **extra,
                **generate_kwargs,
            )
    finally:
        model.train(was_training)
    return out[:, batch["input_ids"].shape[1]:]


def generate_answers(model, tokenizer, prompts: list[list[dict]], max_new_tokens: int) -> list[str]:
    """Greedy answers, one batch, left-padded: deterministic for a given model."""
    batch = chat_batch(tokenizer, prompts, model.device)
    new = generate_new_tokens(model, tokenizer, batch, do_sample=False, max_new_tokens=max_new_tokens)
    return [t.strip() for t in tokenizer.batch_decode(new, skip_special_tokens=True)]
