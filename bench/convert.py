"""Full-corpus data pipeline benchmark: 923,590 Dolly records from the four sources' layouts.

Generates the corpus (bench/make_corpus.py, seeded; not timed), then times, each phase in its own
subprocess so its peak RSS is its own:
  pipeline  `python -m llmsweep.data prepare` per source (2 worker processes) + `mix`
  naive     a hand-written script: json.load each file whole, the same per-row conversion,
            pandas for dedup, shuffle/split and JSON Lines output, one process
and prints rows/s, wall, peak RSS and the naive/pipeline wall ratio. The naive script holds whole files
and a DataFrame of every record in memory (~1.4 GB per 5 % of the corpus), more than this 24 GB machine
has at full size, so the ratio is measured on both sides at --naive-scale (default 0.1) of the corpus.
Goals (issue 3): pipeline <= 20 s, peak RSS <= 1 GB, >= 3x the naive script.

    .venv/bin/python bench/convert.py [--scale 1.0] [--workdir /tmp/llmsweep-bench] [--skip-naive]
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCES = ("kovicuna", "alpaca", "korquad1", "korquad2")


def run_pipeline(raw: Path, out: Path) -> dict:
    summaries = {}
    for src in SOURCES:
        subprocess.run(
            [sys.executable, "-m", "llmsweep.data", "prepare", src, str(raw / src), "--out", str(out / f"{src}.jsonl"), "--workers", "2"],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        summaries[src] = json.loads((out / f"{src}.jsonl.summary.json").read_text(encoding="utf-8"))
    subprocess.run(
        [sys.executable, "-m", "llmsweep.data", "mix", *(str(out / f"{s}.jsonl") for s in SOURCES), "--out", str(out / "dolly_ko"), "--split", "0.98"],
        check=True, stdout=subprocess.DEVNULL,
    )
    return {s: {k: v[k] for k in ("rows_in", "rows_out", "rows_rejected", "records_written", "duplicates_dropped")} for s, v in summaries.items()}


def run_naive(raw: Path, out: Path) -> dict:
    """What a one-off script does: whole-file json.load, a Python loop, pandas for the rest."""
    import pandas as pd

    from llmsweep.data.prepare import input_files
    from llmsweep.data.sources import Options, Reject, source

    frames, counts = [], {}
    for src in SOURCES:
        mod = source(src)
        records = []
        for path in input_files([str(raw / src)]):
            with open(path, encoding="utf-8") as f:
                doc = json.load(f)
            items = doc if isinstance(doc, list) else doc["data"] if isinstance(doc["data"], list) else [doc["data"]]
            for i, item in enumerate(items):
                for where, payload in mod.rows(item, f"[{i}]"):
                    try:
                        records += mod.convert(payload, Options())
                    except Reject:
                        pass
        df = pd.DataFrame(records).drop_duplicates()
        df.to_json(out / f"{src}.jsonl", orient="records", lines=True, force_ascii=False)
        counts[src] = len(df)
        frames.append(df)
    mixed = pd.concat(frames).sample(frac=1.0, random_state=0)
    n_train = round(len(mixed) * 0.98)
    (out / "dolly_ko").mkdir(exist_ok=True)
    mixed[:n_train].to_json(out / "dolly_ko" / "train.jsonl", orient="records", lines=True, force_ascii=False)
    mixed[n_train:].to_json(out / "dolly_ko" / "eval.jsonl", orient="records", lines=True, force_ascii=False)
    return counts


def phase(name: str, raw: Path, out: Path) -> None:
    """Run inside a fresh subprocess; print wall, peak RSS (this process and its children) and counts."""
    out.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    counts = run_pipeline(raw, out) if name == "pipeline" else run_naive(raw, out)
    wall = time.perf_counter() - t
    rss_kb = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    print(json.dumps({"wall": wall, "peak_rss_mb": rss_kb / 1024, "counts": counts}))


def measure(name: str, raw: Path, out: Path) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--phase", name, "--raw", str(raw), "--out", str(out)], check=True, capture_output=True, text=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", type=float, default=1.0, help="corpus size relative to the full 923,590 records")
    ap.add_argument("--workdir", default="/tmp/llmsweep-bench-convert", help="where the corpus and outputs go (deleted after)")
    ap.add_argument("--skip-naive", action="store_true", help="time only the pipeline")
    ap.add_argument("--naive-scale", type=float, default=0.1, help="corpus size for the pipeline-vs-naive ratio (default 0.1)")
    ap.add_argument("--phase", choices=["pipeline", "naive"], help=argparse.SUPPRESS)
    ap.add_argument("--raw", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.phase:
        phase(a.phase, Path(a.raw), Path(a.out))
        return

    sys.path.insert(0, str(HERE))
    from make_corpus import make_corpus

    work = Path(a.workdir)
    shutil.rmtree(work, ignore_errors=True)
    try:
        t = time.perf_counter()
        expected = make_corpus(work / "raw", seed=0, scale=a.scale)
        size = sum(p.stat().st_size for p in (work / "raw").rglob("*") if p.is_file())
        total = expected["total_records"]
        print(f"corpus: {total:,} expected records, {size / 2**20:,.0f} MiB in the sources' layouts (generated in {time.perf_counter() - t:.1f} s)")

        ours = measure("pipeline", work / "raw", work / "pipeline")
        written = sum(c["records_written"] for c in ours["counts"].values())
        for src, c in ours["counts"].items():
            assert c["rows_in"] == c["rows_out"] + c["rows_rejected"], src
        print(f"pipeline: {written:,} records ({'=' if written == total else '!='} expected) in {ours['wall']:.1f} s "
              f"= {written / ours['wall']:,.0f} records/s, peak RSS {ours['peak_rss_mb']:,.0f} MB")
        mixed = sum(1 for _ in open(work / "pipeline" / "dolly_ko" / "train.jsonl", "rb")) + sum(1 for _ in open(work / "pipeline" / "dolly_ko" / "eval.jsonl", "rb"))
        print(f"mix: {mixed:,} rows in train + eval")
        print(f"goals: wall <= 20 s -> {ours['wall']:.1f} s; peak RSS <= 1024 MB -> {ours['peak_rss_mb']:,.0f} MB")
        if a.skip_naive:
            return
        shutil.rmtree(work)
        small = make_corpus(work / "raw", seed=0, scale=a.naive_scale)["total_records"]
        ours = measure("pipeline", work / "raw", work / "pipeline")
        naive = measure("naive", work / "raw", work / "naive")
        n = sum(naive["counts"].values())
        print(f"at scale {a.naive_scale} ({small:,} records): pipeline {ours['wall']:.1f} s, peak RSS {ours['peak_rss_mb']:,.0f} MB; "
              f"naive json.load + pandas {n:,} records in {naive['wall']:.1f} s, peak RSS {naive['peak_rss_mb']:,.0f} MB")
        print(f"speed-up (naive wall / pipeline wall): {naive['wall'] / ours['wall']:.2f}x  (goal >= 3x)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
