"""Load a run's data as train/eval `datasets.Dataset`s in the conversational form trl expects.

`data.path` is one of:
- a JSON Lines file, or a directory of JSON Lines shards (`prepare --out DIR`): split here, `eval_size`
  seeded rows for eval;
- a directory written by `python -m llmsweep.data mix`: its plan (train.npy, eval.npy, mix.json) is read
  row by row from the mixed files, or its train.jsonl and eval.jsonl when there is no plan."""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import orjson
from omegaconf import DictConfig

from llmsweep.data.mix import PLAN_FORMAT, nearest_split
from llmsweep.data.records import checked, dpo_example, read_jsonl, sft_example
from llmsweep.errors import UserError


def count_rows(path: Path) -> int:
    with open(path, "rb") as f:
        return sum(1 for line in f if line.strip())


def mix_info(mix_dir: Path) -> dict | None:
    """The mix.json of a mix directory, or None (absent, unreadable, or not a plan)."""
    try:
        info = json.loads((mix_dir / "mix.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return info if isinstance(info, dict) else None


def split_of(mix_dir: Path) -> float:
    """The --split a mix directory was written with (mix.json), else mix's default."""
    try:
        return float((mix_info(mix_dir) or {})["split"])
    except (ValueError, KeyError, TypeError):
        return 0.98


def plan_files(mix_dir: Path, info: dict) -> list[Path]:
    """The files a mix plan reads, checked unchanged since the mix (byte offsets would point elsewhere)."""
    files = []
    for f in info["files"]:
        p = Path(os.path.normpath(mix_dir / f["path"]))
        size = p.stat().st_size if p.is_file() else None
        if size != f["bytes"]:
            now = "is gone" if size is None else f"has {size:,} bytes, not the {f['bytes']:,} it had"
            raise UserError(
                f"data.path {mix_dir}: the mixed file {p} {now}. Fix: re-run `python -m llmsweep.data mix` "
                "on the current files."
            )
        files.append(p)
    return files


def plan_records(mix_dir: Path, split: str, fmt: str, limit: int | None = None) -> Iterator[dict]:
    """The records of one split of a mix plan, in order, read by byte offset from the mixed files."""
    info = mix_info(mix_dir)
    files = plan_files(mix_dir, info)
    plan = np.load(mix_dir / f"{split}.npy", mmap_mode="r")
    if limit:
        plan = plan[:limit]
    fds = [os.open(p, os.O_RDONLY) for p in files]
    try:
        for i, off, length in zip(plan["file"].tolist(), plan["offset"].tolist(), plan["length"].tolist(), strict=True):
            where = f"{files[i]} byte {off}"
            try:
                rec = orjson.loads(os.pread(fds[i], length, off))
            except orjson.JSONDecodeError as e:
                raise UserError(f"{where}: not valid JSON ({e}). Fix: re-run prepare and mix.") from None
            if not isinstance(rec, dict):
                raise UserError(f"{where}: expected a JSON object")
            yield checked(rec, fmt, where)
    finally:
        for fd in fds:
            os.close(fd)


def mix_datasets(mix_dir: str | Path):
    """A mix plan's splits as a `datasets.DatasetDict`: the mixed files loaded natively, then `select(row)`."""
    from datasets import DatasetDict, load_dataset

    mix_dir = Path(mix_dir)
    files = plan_files(mix_dir, mix_info(mix_dir))
    rows = load_dataset("json", data_files=[str(p) for p in files], split="train")
    return DatasetDict({s: rows.select(np.load(mix_dir / f"{s}.npy")["row"]) for s in ("train", "eval")})


NEEDS = {"sft": "dolly", "dpo": "prefs"}


def load_splits(data: DictConfig, recipe: str):
    from datasets import Dataset

    fmt = str(data.format)
    if NEEDS[recipe] != fmt:
        hint = "data=prefs_ko (or another prefs data config)" if recipe == "dpo" else "data=dolly_ko"
        raise UserError(
            f"the {recipe} recipe trains on {NEEDS[recipe]} records but data={data.name} holds {fmt} records. Fix: {hint}."
        )
    to_example = sft_example if recipe == "sft" else dpo_example

    def load(records: Iterator[dict], limit=None) -> Dataset:
        return Dataset.from_list([to_example(r) for r in itertools.islice(records, limit or None)])

    if data.eval_size < 1:
        raise UserError(
            f"data.eval_size={data.eval_size}: training evaluates on eval rows and needs at least 1. "
            "Fix: data.eval_size=32 (the default) or another count >= 1."
        )
    path = Path(str(data.path))
    shards: list[Path] = []
    if path.is_dir():
        info = mix_info(path)
        train, evals = path / "train.jsonl", path / "eval.jsonl"
        if info and info.get("format") == PLAN_FORMAT:
            train_ds = load(plan_records(path, "train", fmt), data.max_rows)
            eval_ds = load(plan_records(path, "eval", fmt), data.eval_size)
            n = int(info["train"]) + int(info["eval"])
        elif train.is_file() and evals.is_file():
            train_ds = load(read_jsonl(str(train), fmt), data.max_rows)
            eval_ds = load(read_jsonl(str(evals), fmt), data.eval_size)
            n = sum(count_rows(f) for f in (train, evals)) if not (len(train_ds) and len(eval_ds)) else 0
        else:
            shards = sorted(p for p in path.glob("*.jsonl") if not p.name.startswith("."))
            if not shards:
                raise UserError(
                    f"data.path {path} is a directory without a mix plan (mix.json), train.jsonl and "
                    "eval.jsonl, or .jsonl shards. Fix: point it at the --out of `python -m llmsweep.data "
                    "mix` or `prepare`, or at a JSON Lines file."
                )
        if not shards:
            if len(train_ds) and len(eval_ds):
                return train_ds, eval_ds
            # an empty split fails only later, deep in training (no prompts to generate from, no eval loss)
            fix = (
                f"re-run `python -m llmsweep.data mix` with --split {nearest_split(n, split_of(path))}"
                if n > 1
                else "mix more rows"
            )
            raise UserError(
                f"data.path {path}: {len(train_ds)} train + {len(eval_ds)} eval rows; training needs at "
                f"least 1 of each. Fix: {fix}."
            )
    files = shards or [path]
    ds = load(itertools.chain.from_iterable(read_jsonl(str(f), fmt) for f in files), data.max_rows)
    if len(ds) <= data.eval_size:
        limit = f" (data.max_rows={data.max_rows})" if data.max_rows else ""
        fix = f"data.eval_size={len(ds) - 1} or less, or more records" if len(ds) > 1 else "more records"
        raise UserError(
            f"data.path {path}: {len(ds)} records{limit}, not enough for data.eval_size={data.eval_size} "
            f"eval rows plus at least 1 training row. Fix: {fix}."
        )
    split = ds.train_test_split(test_size=data.eval_size, seed=data.seed, shuffle=True)
    return split["train"], split["test"]
