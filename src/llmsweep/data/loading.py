"""Load a run's data as train/eval `datasets.Dataset`s in the conversational form trl expects.

`data.path` is a JSON Lines file (split here: `eval_size` seeded rows for eval) or a directory written
by `python -m llmsweep.data mix` (its train.jsonl and eval.jsonl are used as they are)."""

from __future__ import annotations

from pathlib import Path

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
    to_example = sft_example if recipe == "sft" else dpo_example

    def load(path: Path, limit=None) -> Dataset:
        records = []
        for rec in read_jsonl(str(path), fmt):
            records.append(to_example(rec))
            if limit and len(records) >= limit:
                break
        return Dataset.from_list(records)

    path = Path(str(data.path))
    if path.is_dir():
        train, evals = path / "train.jsonl", path / "eval.jsonl"
        if not train.is_file() or not evals.is_file():
            raise UserError(f"data.path {path} is a directory without train.jsonl and eval.jsonl. Fix: point it at the --out of `python -m llmsweep.data mix`, or at a JSON Lines file.")
        return load(train, data.max_rows), load(evals, data.eval_size)
    ds = load(path, data.max_rows)
    if len(ds) <= data.eval_size:
        raise UserError(f"{path}: {len(ds)} records, not enough for data.eval_size={data.eval_size} plus training rows.")
    split = ds.train_test_split(test_size=data.eval_size, seed=data.seed, shuffle=True)
    return split["train"], split["test"]
