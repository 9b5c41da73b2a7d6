"""`prepare`: convert one source's files into records, with exact accounting.

Every row read ends either in the output or in `<out>.rejects.jsonl` (with file, place and reason):
rows in = rows out + rows rejected, per file and in total, written to `<out>.summary.json`.
Exact duplicate records are dropped (the first occurrence in input order stays) and counted.

Files convert in parallel worker processes. Each worker writes its file's records straight into their
final place, so every record byte is written once: with `--out DIR` (no .jsonl suffix) each input file
becomes a shard `DIR/NNNNN-<name>.jsonl`, in input order (`datasets` and `mix` read such a directory as
one dataset); with `--out FILE.jsonl` one input file's records are renamed into FILE, several files'
are concatenated into it (one more copy of every byte: name a directory for large sources).
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import re
import time
from array import array
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import orjson
import xxhash  # a dependency of datasets; the same 64-bit digest in every worker process

from llmsweep.data.reading import Unit, is_jsonl, read_json_items, read_jsonl, top_level
from llmsweep.data.records import dolly_problem, prefs_problem
from llmsweep.data.sources import Options, Reject, source
from llmsweep.errors import UserError

NL = orjson.OPT_APPEND_NEWLINE
BUF = 4 << 20  # large buffers: GB-sized outputs in few syscalls
JSONL = (".jsonl", ".ndjson")
SHARD = re.compile(r"\d{5}-.*\.jsonl")  # the shards prepare writes into an output directory
_progress = None  # a worker's shared row counter


def digest(line: bytes) -> int:
    """64-bit digest of a record's bytes for exact dedup; a false "duplicate" needs a 2^-64 collision."""
    return xxhash.xxh3_64_intdigest(line)


@dataclass
class FileResult:
    path: str
    rows_in: int = 0
    rows_out: int = 0
    records: int = 0
    written: int = 0  # records in the part after dropping duplicates within this file
    duplicates: int = 0
    rejected: Counter = field(default_factory=Counter)
    error: str | None = None
    part: str = ""
    rejects_part: str = ""
    digests: array = field(default_factory=lambda: array("Q"))  # of the part's records, in order


def input_files(inputs: list[str]) -> list[Path]:
    files: list[Path] = []
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            found = sorted(q for q in p.rglob("*") if q.suffix in (".json", *JSONL) and q.is_file())
            if not found:
                raise UserError(f"{p}: no .json or .jsonl files in this directory")
            files += found
        elif p.is_file():
            files.append(p)
        else:
            raise UserError(f"{p}: no such file or directory")
    return files


def read_units(path: Path) -> Iterator[Unit]:
    """JSON Lines line by line; a JSON array item by item; a KorQuAD-style {"data": [...] | {...}}
    document by document; any other single object as one unit."""
    if is_jsonl(path):
        yield from read_jsonl(path)
        return
    if top_level(path) == "[":
        yield from read_json_items(path, "item", "record")
        return
    any_found = False
    for unit in read_json_items(path, "data.item", "data"):
        any_found = True
        yield unit
    if not any_found:
        for unit in read_json_items(path, "data", "data"):
            any_found = True
            yield unit
    if not any_found:
        yield from read_json_items(path, "", "document")


def _raw(src, payload):
    keep = getattr(src, "reject_record", None)
    if keep is not None:
        return keep(payload)
    if isinstance(payload, Reject):
        return None
    if isinstance(payload, tuple):  # (paragraph context, qa)
        return {"context": payload[0], "qa": payload[1]}
    return payload


def convert_file(name: str, path: Path, opts: Options, part: Path, rejects: Path, progress=None) -> FileResult:
    """Convert one file into `part` (its records, duplicates within the file dropped) and `rejects`."""
    src = source(name)
    problem = dolly_problem if src.FORMAT == "dolly" else prefs_problem
    res = FileResult(str(path), part=str(part), rejects_part=str(rejects))
    seen: set[int] = set()

    with open(part, "wb", buffering=BUF) as out, open(rejects, "wb") as rej:

        def reject(where: str, reason: str, detail: str, raw) -> None:
            res.rejected[reason] += 1
            rec = {"source": str(path), "where": where, "reason": reason, "detail": detail, "row": raw}
            rej.write(orjson.dumps(rec, option=NL, default=str))

        try:
            for unit in read_units(path):
                if unit.problem:
                    res.rows_in += 1
                    reject(unit.where, unit.problem, unit.detail, unit.raw)
                    continue
                for where, payload in src.rows(unit.value, unit.where):
                    res.rows_in += 1
                    try:
                        records = src.convert(payload, opts)
                        for r in records:
                            if (why := problem(r)) is not None:
                                raise Reject("invalid record", why)
                    except Reject as e:
                        reject(where, e.reason, e.detail, _raw(src, payload))
                        continue
                    for r in records:
                        line = orjson.dumps(r, option=NL)
                        h = digest(line)
                        if h in seen:
                            res.duplicates += 1
                            continue
                        seen.add(h)
                        res.digests.append(h)
                        out.write(line)
                    res.rows_out += 1
                    res.records += len(records)
                    if progress is not None and res.rows_in % 2000 == 0:
                        progress(2000)
        except UserError as e:
            res.error = str(e)
    res.written = len(res.digests)
    if progress is not None:
        progress(res.rows_in % 2000)
    return res


def _worker_init(counter) -> None:
    global _progress
    _progress = counter


def _count(n: int) -> None:
    with _progress.get_lock():
        _progress.value += n


def _convert_in_worker(args) -> FileResult:
    return convert_file(*args, progress=_count)


def _results(tasks: list[tuple], workers: int, bar) -> Iterator[FileResult]:
    """FileResults in input order; conversion runs ahead in `workers` processes."""
    if workers <= 1 or len(tasks) == 1:
        for t in tasks:
            yield convert_file(*t, progress=bar.update)
        return
    counter = mp.Value("q", 0)
    ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else mp.get_context()
    with ctx.Pool(min(workers, len(tasks)), initializer=_worker_init, initargs=(counter,)) as pool:
        it = pool.imap(_convert_in_worker, tasks)
        seen = 0
        for _ in tasks:
            while True:
                try:
                    res = it.next(timeout=0.3)
                    break
                except mp.TimeoutError:
                    pass
                finally:
                    bar.update(counter.value - seen)
                    seen = counter.value
            yield res


def _drop_lines(part: Path, drop: set[int]) -> None:
    """Rewrite `part` without the lines numbered in `drop` (records seen in an earlier file: rare)."""
    tmp = part.with_name(part.name + ".dedup")
    with open(part, "rb", buffering=BUF) as src, open(tmp, "wb", buffering=BUF) as dst:
        dst.writelines(line for i, line in enumerate(src) if i not in drop)
    tmp.replace(part)


def _append(src: Path, dst) -> None:
    """Append file `src` to the open binary file `dst`, copied in the kernel where it can (no pass through Python)."""
    import shutil

    dst.flush()
    with open(src, "rb") as f:
        left = os.fstat(f.fileno()).st_size
        try:
            while left > 0 and (n := os.copy_file_range(f.fileno(), dst.fileno(), left)) > 0:
                left -= n
        except (AttributeError, OSError):  # no copy_file_range here, or not between these files
            pass
        if left > 0:
            f.seek(-left, os.SEEK_END)
            shutil.copyfileobj(f, dst, BUF)


def _output_dir(out: Path) -> None:
    """Create `out` for shards; refuse a directory holding anything but an earlier run's shards, which go."""
    if out.exists() and not out.is_dir():
        raise UserError(
            f"prepare --out {out}: a file is there; a directory of shards goes to a path without a "
            ".jsonl suffix. Fix: --out {out}.jsonl for one file, or another directory name."
        )
    out.mkdir(parents=True, exist_ok=True)
    others = [p.name for p in out.iterdir() if not SHARD.fullmatch(p.name) and not p.name.startswith(".part-")]
    if others:
        raise UserError(
            f"prepare --out {out}: the directory holds files prepare did not write "
            f"({', '.join(others[:3])}). Fix: an empty or new directory."
        )
    for p in out.iterdir():
        p.unlink()


def prepare(name: str, inputs: list[str], out: str | Path, opts: Options | None = None, workers: int = 2) -> dict:
    from tqdm import tqdm

    opts = opts if opts is not None else Options()

    src = source(name)
    files = input_files(inputs)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    sharded = out.suffix not in (*JSONL, ".json")  # a file name says one file; anything else is a directory
    if sharded:
        _output_dir(out)
        part_dir = out
    else:
        part_dir = out.parent
    rejects_path = out.with_name(out.name + ".rejects.jsonl")
    stem = f".part-{os.getpid()}-"
    tasks = [
        (name, f, opts, part_dir / f"{stem}{i:05d}.jsonl", part_dir / f"{stem}{i:05d}.rejects")
        for i, f in enumerate(files)
    ]
    seen: set[int] = set()
    total = {
        "rows_in": 0,
        "rows_out": 0,
        "rejected": Counter(),
        "records_converted": 0,
        "records_written": 0,
        "duplicates": 0,
    }
    per_file, errors, shards = [], [], []
    t0 = time.perf_counter()
    try:
        with (
            open(rejects_path, "wb") as frej,
            open(os.devnull if sharded else out, "wb") as fout,
            tqdm(desc=f"{name}", unit=" rows", smoothing=0.1) as bar,
        ):
            for i, res in enumerate(_results(tasks, max(1, workers), bar)):
                part = Path(res.part)
                mine = set(res.digests)
                if not seen.isdisjoint(mine):  # records an earlier file already wrote
                    drop = {j for j, h in enumerate(res.digests) if h in seen}
                    _drop_lines(part, drop)
                    res.duplicates += len(drop)
                    res.written -= len(drop)
                seen |= mine
                if sharded:
                    if res.written:
                        shard = out / f"{i:05d}-{Path(res.path).stem}.jsonl"
                        part.replace(shard)
                        shards.append(str(shard))
                elif len(files) == 1:
                    part.replace(out)
                elif res.written:
                    _append(part, fout)
                if os.path.getsize(res.rejects_part):
                    _append(Path(res.rejects_part), frej)
                for p in (part, Path(res.rejects_part)):
                    p.unlink(missing_ok=True)
                total["rows_in"] += res.rows_in
                total["rows_out"] += res.rows_out
                total["rejected"].update(res.rejected)
                total["records_converted"] += res.records
                total["records_written"] += res.written
                total["duplicates"] += res.duplicates
                if res.error:
                    errors.append(res.error)
                per_file.append(
                    {
                        "path": res.path,
                        "rows_in": res.rows_in,
                        "rows_out": res.rows_out,
                        "records": res.records,
                        "rejected": dict(res.rejected),
                        "error": res.error,
                    }
                )
    finally:
        for _, _, _, part, rejects in tasks:
            part.unlink(missing_ok=True)
            rejects.unlink(missing_ok=True)
    wall = time.perf_counter() - t0
    rejected = sum(total["rejected"].values())
    assert total["rows_in"] == total["rows_out"] + rejected, "accounting identity broken"
    assert total["records_converted"] == total["records_written"] + total["duplicates"], "record count broken"
    summary = {
        "source": name,
        "format": src.FORMAT,
        "output": str(out),
        "shards": [Path(s).name for s in shards] if sharded else None,
        "rejects": str(rejects_path),
        "rows_in": total["rows_in"],
        "rows_out": total["rows_out"],
        "rows_rejected": rejected,
        "rejected_by_reason": dict(total["rejected"].most_common()),
        "records_converted": total["records_converted"],
        "duplicates_dropped": total["duplicates"],
        "records_written": total["records_written"],
        "wall_seconds": round(wall, 3),
        "options": asdict(opts),
        "files": per_file,
        "errors": errors,
    }
    out.with_name(out.name + ".summary.json").write_text(
        json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8"
    )
    return summary


def summary_line(s: dict) -> str:
    reasons = ", ".join(f"{k}: {v}" for k, v in s["rejected_by_reason"].items())
    n = len(s["shards"] or ())
    where = s["output"] + (f"/ ({n} shard{'' if n == 1 else 's'})" if s.get("shards") is not None else "")
    return (
        f"{s['source']}: rows in {s['rows_in']:,} = out {s['rows_out']:,} + rejected {s['rows_rejected']:,}"
        + (f" ({reasons})" if reasons else "")
        + f"; {s['records_written']:,} records written to {where}"
        + (f", duplicates dropped: {s['duplicates_dropped']:,}" if s["duplicates_dropped"] else "")
        + f"; rejects in {s['rejects']}"
    )
