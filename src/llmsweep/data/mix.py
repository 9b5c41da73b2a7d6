"""`mix`: sample converted sources by weight (seeded) into train/eval splits.

A weight multiplies a source's row count: 1 takes every row once, 0.5 a seeded random half, 2 every
row twice. Rows are located by byte offset and copied by seeking, so memory stays small whatever the
corpus size."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

from llmsweep.errors import UserError


BUF = 4 << 20


def _lines(path: Path) -> list[tuple[int, int]]:
    """(byte offset, length) of every non-blank line."""
    spans, pos = [], 0
    with open(path, "rb", buffering=BUF) as f:
        for line in f:
            if line.strip():
                spans.append((pos, len(line)))
            pos += len(line)
    return spans


def split_sizes(n: int, split: float) -> tuple[int, int]:
    """(train, eval) rows of `n` at train fraction `split`; refused unless both are non-empty, since training
    evaluates on eval.jsonl (an empty one only fails later, deep in training)."""
    n_train = round(n * split)
    if n_train >= 1 and n - n_train >= 1:
        return n_train, n - n_train
    if n < 2:
        raise UserError(f"mix: {n} row(s) in all, but a train and an eval split need at least 2. Fix: mix more rows.")
    side, way = ("eval", "lower") if n_train >= n else ("train", "higher")
    raise UserError(f"mix: --split {split} of {n} rows leaves {n_train} train + {n - n_train} eval rows, but training "
                    f"needs at least 1 {side} row. Fix: --split {nearest_split(n, split):g} (or {way}), "
                    "or mix more rows.")


def nearest_split(n: int, split: float) -> float:
    """The two-decimal train fraction nearest `split` that leaves `n` >= 2 rows a train and an eval row."""
    fits = [s / 100 for s in range(1, 100) if 1 <= round(n * (s / 100)) <= n - 1]
    return min(fits, key=lambda s: abs(s - split))


def mix(inputs: list[str], out: str | Path, weights: list[float] | None = None, split: float = 0.98, seed: int = 0) -> dict:
    paths = [Path(p) for p in inputs]
    for p in paths:
        if not p.is_file():
            raise UserError(f"mix: {p} is not a file (inputs are the JSON Lines outputs of `prepare`)")
    weights = weights or [1.0] * len(paths)
    if len(weights) != len(paths):
        raise UserError(f"mix: {len(weights)} weights for {len(paths)} inputs; give one weight per input, in order")
    if any(w < 0 for w in weights):
        raise UserError("mix: weights must be >= 0")
    if not 0 < split < 1:
        raise UserError(f"mix: --split {split} must be in (0, 1): the train fraction; the rest is the eval split")
    rng = random.Random(seed)
    picks: list[tuple[int, tuple[int, int]]] = []  # (input index, (offset, length))
    per_source = {}
    for i, (p, w) in enumerate(zip(paths, weights)):
        spans = _lines(p)
        whole, frac = int(w), w - int(w)
        chosen = spans * whole + rng.sample(spans, round(len(spans) * frac))
        picks += [(i, span) for span in chosen]
        per_source[str(p)] = {"rows": len(spans), "weight": w, "taken": len(chosen)}
    rng.shuffle(picks)
    n_train = split_sizes(len(picks), split)[0]
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    fds = [os.open(p, os.O_RDONLY) for p in paths]
    try:
        for name, part in (("train", picks[:n_train]), ("eval", picks[n_train:])):
            with open(out / f"{name}.jsonl", "wb", buffering=BUF) as f:
                for i, (off, length) in part:
                    line = os.pread(fds[i], length, off)
                    f.write(line if line.endswith(b"\n") else line + b"\n")
    finally:
        for fd in fds:
            os.close(fd)
    summary = {"inputs": per_source, "seed": seed, "split": split, "train": n_train, "eval": len(picks) - n_train}
    (out / "mix.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8")
    return summary
