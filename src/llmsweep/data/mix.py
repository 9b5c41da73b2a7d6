"""`mix`: sample converted sources by weight (seeded) into train/eval splits, as a plan that training reads.

A weight multiplies a source's row count: 1 takes every row once, 0.5 a seeded random half, 2 every
row twice. No record is copied: `OUT/train.npy` and `OUT/eval.npy` list, in training order, each row's
input file, byte offset, length and row number across the inputs; `OUT/mix.json` names the input files
(relative to OUT) with their sizes. `data.path=OUT` reads the rows by offset (`llmsweep.data.loading`);
`loading.mix_datasets(OUT)` gives the same splits as `datasets` objects (`load_dataset("json")` over the
inputs, then `select(row)`). `--jsonl` also writes OUT/train.jsonl and OUT/eval.jsonl for other tools.
"""

from __future__ import annotations

import json
import mmap
import os
from array import array
from pathlib import Path

import numpy as np

from llmsweep.errors import UserError

BUF = 4 << 20
CHUNK = 64 << 20  # bytes of a file mapped in this process at a time, at most
PLAN = np.dtype([("file", "<u4"), ("row", "<u8"), ("offset", "<u8"), ("length", "<u4")])
PLAN_FORMAT = "llmsweep-mix-plan/1"
WHITESPACE = b" \t\r\n"


def input_files(item: str) -> list[Path]:
    """A JSON Lines file, or a directory of them (the shards `prepare --out DIR` writes), in name order."""
    p = Path(item)
    if p.is_file():
        return [p]
    if p.is_dir():
        found = sorted(q for q in p.iterdir() if q.suffix == ".jsonl" and q.is_file() and not q.name.startswith("."))
        if found:
            return found
        raise UserError(f"mix: {p} is a directory without .jsonl files (inputs are the outputs of `prepare`)")
    raise UserError(f"mix: {p} is not a file or directory (inputs are the JSON Lines outputs of `prepare`)")


def line_spans(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(byte offsets, lengths) of the non-blank lines of a file: memchr (mmap.find) over the file's pages,
    with no copy; pages already scanned leave this process's RSS (they stay in the page cache)."""
    size = os.path.getsize(path)
    ends, blank, pos, dropped = array("Q"), [], 0, 0
    if size:
        with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            find = mm.find
            while pos < size:
                i = find(b"\n", pos)
                end = size if i < 0 else i + 1
                if mm[pos] in WHITESPACE and not mm[pos:end].strip():  # rare: only lines starting with a space
                    blank.append(len(ends))
                ends.append(end)
                pos = end
                if pos - dropped > CHUNK and hasattr(mm, "madvise"):
                    done = (pos - dropped) // mmap.PAGESIZE * mmap.PAGESIZE
                    mm.madvise(mmap.MADV_DONTNEED, dropped, done)
                    dropped += done
    end = np.frombuffer(ends, np.uint64) if ends else np.zeros(0, np.uint64)
    start = np.concatenate(([0], end[:-1])).astype(np.uint64)
    length = (end - start).astype(np.uint32)
    if blank:
        keep = np.ones(len(start), bool)
        keep[blank] = False
        start, length = start[keep], length[keep]
    return start, length


def split_sizes(n: int, split: float) -> tuple[int, int]:
    """(train, eval) rows of `n` at train fraction `split`; refused unless both are non-empty, since training
    evaluates on the eval split (an empty one only fails later, deep in training)."""
    n_train = round(n * split)
    if n_train >= 1 and n - n_train >= 1:
        return n_train, n - n_train
    if n < 2:
        raise UserError(f"mix: {n} row(s) in all, but a train and an eval split need at least 2. Fix: mix more rows.")
    side, way = ("eval", "lower") if n_train >= n else ("train", "higher")
    raise UserError(
        f"mix: --split {split} of {n} rows leaves {n_train} train + {n - n_train} eval rows, but training "
        f"needs at least 1 {side} row. Fix: --split {nearest_split(n, split):g} (or {way}), "
        "or mix more rows."
    )


def nearest_split(n: int, split: float) -> float:
    """The two-decimal train fraction nearest `split` that leaves `n` >= 2 rows a train and an eval row."""
    fits = [s / 100 for s in range(1, 100) if 1 <= round(n * (s / 100)) <= n - 1]
    return min(fits, key=lambda s: abs(s - split))


def mix(
    inputs: list[str],
    out: str | Path,
    weights: list[float] | None = None,
    split: float = 0.98,
    seed: int = 0,
    jsonl: bool = False,
) -> dict:
    groups = [input_files(p) for p in inputs]
    weights = weights or [1.0] * len(inputs)
    if len(weights) != len(inputs):
        raise UserError(f"mix: {len(weights)} weights for {len(inputs)} inputs; give one weight per input, in order")
    if any(w < 0 for w in weights):
        raise UserError("mix: weights must be >= 0")
    if not 0 < split < 1:
        raise UserError(f"mix: --split {split} must be in (0, 1): the train fraction; the rest is the eval split")
    out = Path(out)
    rng = np.random.default_rng(seed)
    files, chosen, per_source, rows = [], [], {}, 0
    for item, group, w in zip(inputs, groups, weights, strict=True):
        spans = []
        for path in group:
            start, length = line_spans(path)
            span = np.empty(len(start), PLAN)
            span["file"], span["offset"], span["length"] = len(files), start, length
            span["row"] = np.arange(rows, rows + len(start), dtype=np.uint64)
            rows += len(start)
            files.append(path)
            spans.append(span)
        spans = np.concatenate(spans)
        whole, frac = int(w), w - int(w)
        take = [spans] * whole + [spans[np.sort(rng.choice(len(spans), round(len(spans) * frac), replace=False))]]
        taken = np.concatenate(take)
        chosen.append(taken)
        per_source[item] = {"rows": len(spans), "weight": w, "taken": len(taken), "files": len(group)}
    picks = np.concatenate(chosen)
    n_train = split_sizes(len(picks), split)[0]  # refused before anything is written
    picks = picks[rng.permutation(len(picks))]
    out.mkdir(parents=True, exist_ok=True)
    for old in ("train.jsonl", "eval.jsonl"):  # an earlier mix's copies would disagree with the new plan
        (out / old).unlink(missing_ok=True)
    np.save(out / "train.npy", picks[:n_train])
    np.save(out / "eval.npy", picks[n_train:])
    if jsonl:
        write_jsonl(files, picks[:n_train], out / "train.jsonl")
        write_jsonl(files, picks[n_train:], out / "eval.jsonl")
    summary = {
        "format": PLAN_FORMAT,
        "files": [{"path": os.path.relpath(p.resolve(), out.resolve()), "bytes": p.stat().st_size} for p in files],
        "inputs": per_source,
        "seed": seed,
        "split": split,
        "train": n_train,
        "eval": len(picks) - n_train,
    }
    (out / "mix.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8")
    return summary


def write_jsonl(files: list[Path], plan: np.ndarray, dest: Path) -> None:
    """The plan's rows copied into one JSON Lines file, in order (only with --jsonl: one more copy of each)."""
    fds = [os.open(p, os.O_RDONLY) for p in files]
    try:
        with open(dest, "wb", buffering=BUF) as f:
            for i, off, length in zip(
                plan["file"].tolist(), plan["offset"].tolist(), plan["length"].tolist(), strict=True
            ):
                line = os.pread(fds[i], length, off)
                f.write(line if line.endswith(b"\n") else line + b"\n")
    finally:
        for fd in fds:
            os.close(fd)
