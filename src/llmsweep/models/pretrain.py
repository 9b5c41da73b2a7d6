"""A short causal-LM pass over the bundled corpus, so a tiny base model writes Korean text rather
than noise: the tiny analogue of a pretrained checkpoint. It sees plain text only, never the chat
format, so SFT and DPO still have the instruction-following to teach."""

from __future__ import annotations

import tempfile


def pretrain(model, tokenizer, texts: list[str], steps: int, seed: int) -> None:
    from datasets import Dataset
    from transformers import DataCollatorForLanguageModeling, Trainer, TrainingArguments

    from llmsweep.trainer_log import quiet_metrics

    ds = Dataset.from_dict({"text": texts}).map(
        lambda b: tokenizer([t + tokenizer.eos_token for t in b["text"]], truncation=True, max_length=128),
        batched=True,
        remove_columns=["text"],
    )
    with tempfile.TemporaryDirectory() as out:
        args = TrainingArguments(
            output_dir=out,
            max_steps=steps,
            per_device_train_batch_size=16,
            learning_rate=3e-3,
            lr_scheduler_type="cosine",
            warmup_steps=min(20, steps // 10),
            weight_decay=0.01,
            seed=seed,
            use_cpu=True,
            bf16=False,
            report_to="none",
            save_strategy="no",
            logging_steps=max(1, steps // 4),
            disable_tqdm=False,
        )
        collator = DataCollatorForLanguageModeling(tokenizer, mlm=False)
        quiet_metrics(Trainer(model=model, args=args, train_dataset=ds, data_collator=collator)).train()
