"""Load a run's data as train/eval `datasets.Dataset`s in the conversational form trl expects."""

from __future__ import annotations

from omegaconf import DictConfig

from llmsweep.data.records import dpo_example, read_jsonl, sft_example
from llmsweep.errors import UserError

NEEDS = {"sft": "dolly", "dpo": "prefs"}


def load_splits(data: DictConfig, recipe: str):
    from datasets import Dataset

    fmt = str(data.format)
    if NEEDS[recipe] != fmt:
        hint = "data=prefs_ko (or another prefs data config)" if recipe == "dpo" else "data=dolly_ko"
        raise UserError(f"the {recipe} recipe trains on {NEEDS[recipe]} records but data={data.name} holds {fmt} records. Fix: {hint}.")
    records = list(read_jsonl(str(data.path), fmt))
    if data.max_rows:
        records = records[: data.max_rows]
    if len(records) <= data.eval_size:
        raise UserError(f"{data.path}: {len(records)} records, not enough for data.eval_size={data.eval_size} plus training rows.")
    to_example = sft_example if recipe == "sft" else dpo_example
    ds = Dataset.from_list([to_example(r) for r in records])
    split = ds.train_test_split(test_size=data.eval_size, seed=data.seed, shuffle=True)
    return split["train"], split["test"]
