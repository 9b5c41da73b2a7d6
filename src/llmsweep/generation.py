"""Prompting and greedy generation shared by training (answers.jsonl), merging, judging and serving:
one chat template path and one `generate` call, so a served answer is the run's answer."""

from __future__ import annotations


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
    return out[:, batch["input_ids"].shape[1] :]


def generate_answers(model, tokenizer, prompts: list[list[dict]], max_new_tokens: int) -> list[str]:
    """Greedy answers, one batch, left-padded: deterministic for a given model."""
    batch = chat_batch(tokenizer, prompts, model.device)
    new = generate_new_tokens(model, tokenizer, batch, do_sample=False, max_new_tokens=max_new_tokens)
    return [t.strip() for t in tokenizer.batch_decode(new, skip_special_tokens=True)]
