"""`prepare`: convert one source's files into records, with exact accounting.

Every row read ends either in `<out>` or in `<out>.rejects.jsonl` (with file, place and reason):
rows in = rows out + rows rejected, per file and in total, written to `<out>.summary.json`.
Exact duplicate records are dropped and counted. Files convert in parallel worker processes, each
into a part file; parts are merged in input order, so the output does not depend on timing.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import shutil
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterator

import orjson

from llmsweep.data.reading import Unit, is_jsonl, read_json_items, read_jsonl, top_level
from llmsweep.data.records import dolly_problem, prefs_problem
from llmsweep.data.sources import Options, Reject, source
from llmsweep.errors import UserError

NL = orjson.OPT_APPEND_NEWLINE
BUF = 4 << 20  # large buffers: GB-sized outputs in few syscalls
_progress = None  # a worker's shared row counter


@dataclass
class FileResult:
    path: str
    rows_in: int = 0
    rows_out: int = 0
    records: int = 0
    rejected: Counter = field(default_factory=Counter)
    error: str | None = None
    part: str = ""
    rejects_part: str = ""


def input_files(inputs: list[str]) -> list[Path]:
    files: list[Path] = []
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            found = sorted(q for q in p.rglob("*") if q.suffix in (".json", ".jsonl", ".ndjson") and q.is_file())
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


def convert_file(name: str, path: Path, opts: Options, part_dir: Path, progress=None) -> FileResult:
    src = source(name)
    problem = dolly_problem if src.FORMAT == "dolly" else prefs_problem
    res = FileResult(str(path))
    part = Path(tempfile.mkstemp(dir=part_dir, suffix=".jsonl")[1])
    rejects = Path(tempfile.mkstemp(dir=part_dir, suffix=".rejects.jsonl")[1])
    res.part, res.rejects_part = str(part), str(rejects)

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
                        out.write(orjson.dumps(r, option=NL))
                    res.rows_out += 1
                    res.records += len(records)
                    if progress is not None and res.rows_in % 2000 == 0:
                        progress(2000)
        except UserError as e:
            res.error = str(e)
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
    name, path, opts, part_dir = args
    return convert_file(name, path, opts, part_dir, progress=_count)


def _results(name, files, opts, part_dir, workers, bar):
    """FileResults in input order; conversion runs ahead in `workers` processes."""
    if workers <= 1 or len(files) == 1:
        for f in files:
            yield convert_file(name, f, opts, part_dir, progress=bar.update)
        return
    counter = mp.Value("q", 0)
    ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else mp.get_context()
    with ctx.Pool(workers, initializer=_worker_init, initargs=(counter,)) as pool:
        it = pool.imap(_convert_in_worker, [(name, f, opts, part_dir) for f in files])
        seen = 0
        for _ in files:
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


def prepare(name: str, inputs: list[str], out: str | Path, opts: Options = Options(), workers: int = 2) -> dict:
    from tqdm import tqdm

    src = source(name)
    files = input_files(inputs)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    rejects_path = out.with_name(out.name + ".rejects.jsonl")
    seen: set[int] = set()
    total = {"rows_in": 0, "rows_out": 0, "rejected": Counter(), "records_converted": 0, "records_written": 0, "duplicates": 0}
    per_file, errors = [], []
    t0 = time.perf_counter()
    part_dir = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.parts."))
    try:
        with open(out, "wb", buffering=BUF) as fout, open(rejects_path, "wb") as frej, tqdm(desc=f"{name}", unit=" rows", smoothing=0.1) as bar:
            for res in _results(name, files, opts, part_dir, max(1, workers), bar):
                with open(res.part, "rb", buffering=BUF) as part:
                    for line in part:
                        digest = hash(line)  # 64-bit; a false "duplicate" is as unlikely as with an 8-byte blake2b
                        if digest in seen:
                            total["duplicates"] += 1
                            continue
                        seen.add(digest)
                        fout.write(line)
                        total["records_written"] += 1
                with open(res.rejects_part, "rb") as part:
                    shutil.copyfileobj(part, frej)
                Path(res.part).unlink()
                Path(res.rejects_part).unlink()
                total["rows_in"] += res.rows_in
                total["rows_out"] += res.rows_out
                total["rejected"].update(res.rejected)
                total["records_converted"] += res.records
                if res.error:
                    errors.append(res.error)
                per_file.append({"path": res.path, "rows_in": res.rows_in, "rows_out": res.rows_out, "records": res.records,
                                 "rejected": dict(res.rejected), "error": res.error})
    finally:
        shutil.rmtree(part_dir, ignore_errors=True)
    wall = time.perf_counter() - t0
    rejected = sum(total["rejected"].values())
    assert total["rows_in"] == total["rows_out"] + rejected, "accounting identity broken"
    summary = {
        "source": name,
        "format": src.FORMAT,
        "output": str(out),
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
    out.with_name(out.name + ".summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8")
    return summary


def summary_line(s: dict) -> str:
    reasons = ", ".join(f"{k}: {v}" for k, v in s["rejected_by_reason"].items())
    return (
        f"{s['source']}: rows in {s['rows_in']:,} = out {s['rows_out']:,} + rejected {s['rows_rejected']:,}"
        + (f" ({reasons})" if reasons else "")
        + f"; {s['records_written']:,} records written to {s['output']}"
        + (f", duplicates dropped: {s['duplicates_dropped']:,}" if s["duplicates_dropped"] else "")
        + f"; rejects in {s['rejects']}"
    )
