"""Load a run's data as train/eval `datasets.Dataset`s in the conversational form trl expects.

`data.path` is a JSON Lines file (split here: `eval_size` seeded rows for eval) or a directory written
by `python -m llmsweep.data mix` (its train.jsonl and eval.jsonl are used as they are)."""

from __future__ import annotations

import json
from pathlib import Path

from omegaconf import DictConfig

from llmsweep.data.mix import nearest_split
from llmsweep.data.records import dpo_example, read_jsonl, sft_example
from llmsweep.errors import UserError


def count_rows(path: Path) -> int:
    with open(path, "rb") as f:
        return sum(1 for line in f if line.strip())


def split_of(mix_dir: Path) -> float:
    """The --split a mix directory was written with (mix.json), else mix's default."""
    try:
        return float(json.loads((mix_dir / "mix.json").read_text(encoding="utf-8"))["split"])
    except (OSError, ValueError, KeyError, TypeError):
        return 0.98


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

    if data.eval_size < 1:
        raise UserError(f"data.eval_size={data.eval_size}: training evaluates on eval rows and needs at least 1. "
                        "Fix: data.eval_size=32 (the default) or another count >= 1.")
    path = Path(str(data.path))
    if path.is_dir():
        train, evals = path / "train.jsonl", path / "eval.jsonl"
        if not train.is_file() or not evals.is_file():
            raise UserError(f"data.path {path} is a directory without train.jsonl and eval.jsonl. Fix: point it at the --out of `python -m llmsweep.data mix`, or at a JSON Lines file.")
        train_ds, eval_ds = load(train, data.max_rows), load(evals, data.eval_size)
        if len(train_ds) and len(eval_ds):
            return train_ds, eval_ds
        # an empty split fails only later, deep in training (no prompts to generate from, no eval loss)
        n = sum(count_rows(f) for f in (train, evals))
        fix = f"re-run `python -m llmsweep.data mix` with --split {nearest_split(n, split_of(path))}" if n > 1 else \
            "mix more rows"
        raise UserError(f"data.path {path}: {len(train_ds)} train + {len(eval_ds)} eval rows; training needs at least "
                        f"1 of each. Fix: {fix}.")
    ds = load(path, data.max_rows)
    if len(ds) <= data.eval_size:
        limit = f" (data.max_rows={data.max_rows})" if data.max_rows else ""
        fix = f"data.eval_size={len(ds) - 1} or less, or more records" if len(ds) > 1 else "more records"
        raise UserError(f"data.path {path}: {len(ds)} records{limit}, not enough for data.eval_size={data.eval_size} "
                        f"eval rows plus at least 1 training row. Fix: {fix}.")
    split = ds.train_test_split(test_size=data.eval_size, seed=data.seed, shuffle=True)
    return split["train"], split["test"]
