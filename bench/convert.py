"""Full-corpus data pipeline benchmark: 923,590 Dolly records from the four sources' layouts.

Generates the corpus (bench/make_corpus.py, seeded; not timed), then times, each phase in its own
subprocess so its peak RSS, CPU time and I/O are its own (children included):
  disk      a dd-like probe: buffered 4 MiB writes, no fsync, of as many bytes as the pipeline wrote, into
            the same directory, before and after the pipeline (the faster one counts)
  pipeline  `python -m llmsweep.data prepare` per source (2 worker processes, a directory of shards each)
            + `mix` (a plan: train.npy/eval.npy over the shards)
  naive     a hand-written script: json.load each file whole, the same per-row conversion,
            pandas for dedup, shuffle/split and JSON Lines output, one process
and prints wall, user and system CPU, bytes read and written (write() calls, and the files left), peak RSS,
the disk's write bandwidth, and the naive/pipeline wall ratio. Dirty pages are flushed (sync, untimed) before
each timed phase, so none pays for another's writeback. The naive script holds whole files and a DataFrame
of every record in memory (~1.4 GB per 5 % of the corpus), more than this machine has at full size, so the
ratio is measured on both sides at --naive-scale (default 0.1) of the corpus.
Goals (issue 17): pipeline wall <= 1.5x the time the same disk takes to write the pipeline's output bytes
once, peak RSS <= 1 GB, and <= 20 s on a 2-core machine; >= 3x the naive script (issue 3).

    .venv/bin/python bench/convert.py [--scale 1.0] [--workdir /tmp/llmsweep-bench] [--skip-naive]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCES = ("kovicuna", "alpaca", "korquad1", "korquad2")
MB = 1e6


def proc_io() -> dict:
    """This process's I/O counters, reaped children included: rchar/wchar (bytes through read()/write()
    calls, page cache or not), read_bytes/write_bytes (bytes the block layer was asked for)."""
    with open("/proc/self/io") as f:
        return {k: int(v) for k, v in (line.split(": ") for line in f if line.strip())}


def run_pipeline(raw: Path, out: Path) -> dict:
    steps, summaries = {}, {}
    for src in SOURCES:
        t = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "llmsweep.data",
                "prepare",
                src,
                str(raw / src),
                "--out",
                str(out / src),
                "--workers",
                "2",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        steps[f"prepare {src}"] = time.perf_counter() - t
        summaries[src] = json.loads((out / f"{src}.summary.json").read_text(encoding="utf-8"))
    t = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "llmsweep.data",
            "mix",
            *(str(out / s) for s in SOURCES),
            "--out",
            str(out / "dolly_ko"),
            "--split",
            "0.98",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    steps["mix"] = time.perf_counter() - t
    keys = ("rows_in", "rows_out", "rows_rejected", "records_converted", "records_written", "duplicates_dropped")
    return {"steps": steps, "counts": {s: {k: v[k] for k in keys} for s, v in summaries.items()}}


def write_probe(out: Path, nbytes: int) -> dict:
    """dd if=/dev/zero of=out bs=4M count=nbytes/4M, without conv=fsync: what a buffered writer costs here."""
    block = os.urandom(4 << 20)  # incompressible, in case the filesystem compresses
    left = nbytes
    with open(out / "probe.bin", "wb", buffering=0) as f:
        while left > 0:
            left -= f.write(block[: min(left, len(block))])
    return {}


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
                for _where, payload in mod.rows(item, f"[{i}]"):
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


def phase(name: str, raw: Path, out: Path, nbytes: int) -> None:
    """Run inside a fresh subprocess; print wall, CPU, I/O and peak RSS (this process and its children)."""
    out.mkdir(parents=True, exist_ok=True)
    io0, t = proc_io(), time.perf_counter()
    if name == "pipeline":
        extra = run_pipeline(raw, out)
    elif name == "naive":
        extra = {"counts": run_naive(raw, out)}
    else:
        extra = write_probe(out, nbytes)
    wall = time.perf_counter() - t
    io1 = proc_io()
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    files = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    print(
        json.dumps(
            {
                "wall": wall,
                "user": me.ru_utime + kids.ru_utime,
                "sys": me.ru_stime + kids.ru_stime,
                "peak_rss_mb": max(me.ru_maxrss, kids.ru_maxrss) / 1024,
                "files_bytes": files,
                **{k: io1[k] - io0[k] for k in ("rchar", "wchar", "read_bytes", "write_bytes")},
                **extra,
            }
        )
    )


def measure(name: str, raw: Path, out: Path, nbytes: int = 0) -> dict:
    os.sync()  # flush earlier phases' dirty pages, untimed: no phase pays for another's writeback
    cmd = [sys.executable, __file__, "--phase", name, "--raw", str(raw), "--out", str(out), "--nbytes", str(nbytes)]
    proc = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def cost(m: dict) -> str:
    return (
        f"{m['wall']:.1f} s wall, {m['user']:.1f} s user + {m['sys']:.1f} s system CPU, "
        f"read() {m['rchar'] / MB:,.0f} MB, write() {m['wchar'] / MB:,.0f} MB, peak RSS {m['peak_rss_mb']:,.0f} MB"
    )


def probe_disk(work: Path, nbytes: int) -> dict:
    m = measure("disk", work, work / "probe", nbytes)
    shutil.rmtree(work / "probe")
    return m


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", type=float, default=1.0, help="corpus size relative to the full 923,590 records")
    ap.add_argument(
        "--workdir", default="/tmp/llmsweep-bench-convert", help="where the corpus and outputs go (deleted after)"
    )
    ap.add_argument("--skip-naive", action="store_true", help="time only the pipeline")
    ap.add_argument(
        "--naive-scale", type=float, default=0.1, help="corpus size for the pipeline-vs-naive ratio (default 0.1)"
    )
    ap.add_argument("--phase", choices=["pipeline", "naive", "disk"], help=argparse.SUPPRESS)
    ap.add_argument("--nbytes", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--raw", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.phase:
        phase(a.phase, Path(a.raw), Path(a.out), a.nbytes)
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
        print(
            f"corpus: {total:,} expected records, {size / 2**20:,.0f} MiB in the sources' layouts (generated in {time.perf_counter() - t:.1f} s)"
        )

        ours = measure("pipeline", work / "raw", work / "pipeline")
        counts = ours["counts"]
        written = sum(c["records_written"] for c in counts.values())
        for src, c in counts.items():
            assert c["rows_in"] == c["rows_out"] + c["rows_rejected"], src
            assert c["records_converted"] == c["records_written"] + c["duplicates_dropped"], src
        mix = json.loads((work / "pipeline" / "dolly_ko" / "mix.json").read_text(encoding="utf-8"))
        assert mix["train"] + mix["eval"] == written, "every record mixed once at weight 1"
        from llmsweep.data.loading import plan_records

        first = next(plan_records(work / "pipeline" / "dolly_ko", "train", "dolly"))  # training reads the plan
        assert first["instruction"] and first["response"]
        out_bytes = ours["files_bytes"]
        disk = min((probe_disk(work, out_bytes) for _ in range(2)), key=lambda m: m["wall"])
        bw = out_bytes / disk["wall"]

        same = "=" if written == total else "!="
        print(f"pipeline: {written:,} records ({same} expected) = {written / ours['wall']:,.0f} records/s")
        print(f"  {cost(ours)}")
        print("  steps: " + ", ".join(f"{k} {v:.1f} s" for k, v in ours["steps"].items()))
        plan = sum((work / "pipeline" / "dolly_ko" / f).stat().st_size for f in ("train.npy", "eval.npy"))
        print(
            f"  files written: {out_bytes / MB:,.0f} MB (mix: {mix['train']:,} train + {mix['eval']:,} eval rows, "
            f"a {plan / MB:.0f} MB plan); "
            f"write() bytes / files' bytes = {ours['wchar'] / out_bytes:.2f}"
        )
        print(f"disk: {out_bytes / MB:,.0f} MB in 4 MiB buffered writes, no fsync: {cost(disk)} -> {bw / MB:,.0f} MB/s")
        ratio = ours["wall"] / disk["wall"]
        print(
            f"goals: wall <= 1.5x the disk's time for the output bytes ({disk['wall']:.1f} s) -> {ratio:.2f}x; "
            f"peak RSS <= 1024 MB -> {ours['peak_rss_mb']:,.0f} MB; wall <= 20 s -> {ours['wall']:.1f} s"
        )
        if a.skip_naive:
            return
        shutil.rmtree(work)
        small = make_corpus(work / "raw", seed=0, scale=a.naive_scale)["total_records"]
        ours = measure("pipeline", work / "raw", work / "pipeline")
        naive = measure("naive", work / "raw", work / "naive")
        n = sum(naive["counts"].values())
        print(f"at scale {a.naive_scale} ({small:,} records): pipeline {cost(ours)}")
        print(f"  naive json.load + pandas, {n:,} records: {cost(naive)}")
        print(f"speed-up (naive wall / pipeline wall): {naive['wall'] / ours['wall']:.2f}x  (goal >= 3x)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
