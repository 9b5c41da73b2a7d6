"""RAG benchmark: ingest + index 1,000 generated PDF pages, then query latency, then Korean vs whitespace BM25.

Generates (not timed) 20 PDFs of 50 pages with fpdf2 and NanumGothic: each page ~900 characters of the
bundled Korean reading passages, every tenth page with a ruled table. Then, each in its own subprocess so its
peak RSS is its own:
  ingest   `python -m llmsweep.rag ingest` (PDFium + pdfplumber tables, kiwipiepy sentences, bm25s):
           pages/s (wall including start-up and the analyser's load) and peak RSS
  query    BM25 and hybrid (RRF with a dense model) at top_k 5 over 200 questions: p50 / p95 latency
Then recall@k of Korean (morpheme) BM25 and whitespace BM25 on the bundled QA set (240 generated
KorQuAD-style passages, one question each), the figure the docs quote.
Last (skip with --sweep-trials 0), a RAG sweep: the bundled passages laid out 6 to a page in text documents
with their 240 questions as the QA set; `rag.py` with the default settings (chunk 500/50, bm25, top_k 5), then
`rag.py -m +sweeps=rag objective=recall_at_5` for --sweep-trials trials on 2 workers (submitit_local): the
sweep's best recall@5 against the default config's.
Goals (issue 16): ingest >= 50 pages/s on 2 cores, BM25 query p95 <= 20 ms at 1,000 pages.

The hybrid figure uses a tiny embedding model built here from a config (random weights: fast, meaningless);
pass --model DIR (a local sentence-transformers model) for a real one's latency.

    OMP_NUM_THREADS=1 .venv/bin/python bench/rag.py [--pages 1000] [--workers 2] [--model DIR]
        [--workdir /tmp/llmsweep-rag-bench] [--sweep-trials 12]
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "src"))
FONT = Path("/usr/share/fonts/truetype/nanum/NanumGothic.ttf")
PAGES_PER_PDF = 50


def qa_rows() -> list[dict]:
    from llmsweep.paths import SAMPLES_DIR

    rows = [json.loads(line) for line in (SAMPLES_DIR / "dolly_ko.jsonl").read_text(encoding="utf-8").splitlines()]
    return [r for r in rows if r["category"] == "closed_qa"]


def make_pdfs(out: Path, pages: int) -> None:
    from fpdf import FPDF

    contexts = sorted({r["context"] for r in qa_rows()})
    rng = random.Random(0)
    out.mkdir(parents=True, exist_ok=True)
    for f in range((pages + PAGES_PER_PDF - 1) // PAGES_PER_PDF):
        pdf = FPDF()
        pdf.add_font("nanum", fname=str(FONT))
        pdf.set_font("nanum", size=10)
        for p in range(min(PAGES_PER_PDF, pages - f * PAGES_PER_PDF)):
            pdf.add_page()
            for c in rng.sample(contexts, 6):
                pdf.multi_cell(0, 5, c)
                pdf.ln(2)
            if p % 10 == 0:
                with pdf.table(first_row_as_headings=False, width=120) as table:
                    for cells in (
                        ["항목", "값", "비고"],
                        ["인구", f"{rng.randint(10, 999)}만 명", "추정"],
                        ["면적", f"{rng.randint(10, 999)}", "제곱킬로미터"],
                    ):
                        row = table.row()
                        for cell in cells:
                            row.cell(cell)
        pdf.output(str(out / f"doc{f:03d}.pdf"))


def in_subprocess(code: str, *args: str) -> dict:
    """Run `code` in a fresh interpreter; it prints one JSON line last; peak RSS of that process added."""
    wrapper = code + REPORT
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", wrapper, *args],
        capture_output=True,
        text=True,
        check=False,
        env={"PYTHONPATH": str(REPO / "src"), "PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"},
    )
    if proc.returncode != 0:
        raise SystemExit(f"subprocess failed:\n{proc.stderr[-3000:]}")
    return {**json.loads(proc.stdout.strip().splitlines()[-1]), "wall": time.perf_counter() - started}


# appended to each measured snippet: its RESULT plus peak RSS (itself, its largest child) and CPU seconds
REPORT = """
import resource as _r, json as _j
_self, _kids = _r.getrusage(_r.RUSAGE_SELF), _r.getrusage(_r.RUSAGE_CHILDREN)
print(_j.dumps({**RESULT, "peak_rss_mb": _self.ru_maxrss / 1024, "worker_rss_mb": _kids.ru_maxrss / 1024,
                "cpu_s": sum(u.ru_utime + u.ru_stime for u in (_self, _kids))}))
"""

INGEST = """
import sys
from llmsweep.rag import ChunkSettings, ingest
s = ingest([sys.argv[1]], sys.argv[2], ChunkSettings(500, 50), progress=False, workers=int(sys.argv[3]))
RESULT = {"line": s.line(sys.argv[2]), "pages": s.pages_in, "chunks": s.chunks, "seconds": s.seconds}
"""

QUERY = """
import json, sys, time
from llmsweep.rag import Index
from llmsweep.rag.retrieval import HybridRetriever
index = Index.open(sys.argv[1])
questions = json.loads(sys.argv[2])
def lat(search):
    search(questions[0])
    out = []
    for q in questions:
        t = time.perf_counter(); search(q); out.append((time.perf_counter() - t) * 1000)
    out.sort()
    return {"p50": out[len(out) // 2], "p95": out[int(len(out) * 0.95) - 1]}
bm25 = lat(lambda q: index.search(q, 5))
t = time.perf_counter()
hybrid = HybridRetriever(index, sys.argv[3], top_k=5, weight=0.5)
build = time.perf_counter() - t
RESULT = {"bm25": bm25, "hybrid": lat(hybrid.search), "dense_build_s": build, "chunks": len(index)}
"""


def tiny_embedder(d: Path) -> Path:
    sys.path.insert(0, str(REPO / "tests"))
    from test_rag_dense import tiny_embedder as build

    return build(d, sorted({r["context"] for r in qa_rows()}))


def whitespace_vs_korean() -> dict:
    from llmsweep.rag.bm25 import BM25
    from llmsweep.rag.korean import sentences, terms, whitespace_terms
    from llmsweep.rag.metrics import mrr, recall_at_k

    qa = qa_rows()
    contexts = sorted({r["context"] for r in qa})
    gold = [contexts.index(r["context"]) for r in qa]
    out = {}
    for name, doc_terms, query_terms in (
        ("korean", lambda c: [t for s in sentences(c) for t in s.terms], terms),
        ("whitespace", whitespace_terms, whitespace_terms),
    ):
        bm25 = BM25.build([doc_terms(c) for c in contexts])
        ranked = [[i for i, _ in bm25.top(query_terms(r["instruction"]), 10)] for r in qa]
        out[name] = {f"recall@{k}": recall_at_k(ranked, gold, k) for k in (1, 5, 10)} | {"mrr": mrr(ranked, gold)}
    out["n"] = len(qa)
    return out


def rag_sweep(work: Path, model: str, trials: int) -> dict:
    """recall@5 of rag.py's default settings and the best of a sweeps/rag.yaml study (objective recall_at_5)."""
    import optuna

    sys.path.insert(0, str(REPO / "tests"))
    from test_rag_run import qa_corpus

    d = work / "ragsweep"
    shutil.rmtree(d, ignore_errors=True)
    qa_corpus(d, every=1)
    env = {
        "PYTHONPATH": str(REPO / "src"),
        "PATH": "/usr/bin:/bin",
        "OMP_NUM_THREADS": "1",
        "HF_HUB_OFFLINE": "1",
        "WANDB_MODE": "offline",
        "LLMSWEEP_CACHE_DIR": str(work / "cache"),
    }
    common = [f"rag.docs=[{d / 'docs'}]", f"rag.qa={d / 'qa.jsonl'}", "judge=none"]

    def rag_py(*args: str) -> None:
        proc = subprocess.run(
            [sys.executable, "rag.py", *args, *common], cwd=REPO, env=env, capture_output=True, text=True
        )
        if proc.returncode != 0:
            raise SystemExit(f"rag.py {' '.join(args)} failed:\n{proc.stderr[-3000:]}")

    rag_py("tracking=none", f"hydra.run.dir={d / 'default'}")
    default = json.loads((d / "default" / "metrics.json").read_text())
    t = time.perf_counter()
    db = d / "optuna.db"
    rag_py(
        "-m",
        "+sweeps=rag",
        "objective=recall_at_5",
        "hydra/launcher=submitit_local",
        "hydra.sweeper.n_workers=2",
        f"hydra.sweeper.n_trials={trials}",
        "hydra.sweeper.study_name=bench",
        f"hydra.sweeper.storage=sqlite:///{db}",
        f"rag.embedder={model}",
        f"hydra.sweep.dir={d / 'sweep'}",
    )
    best = optuna.load_study(study_name="bench", storage=f"sqlite:///{db}").best_trial
    return {
        "default": default["recall_at_5"],
        "best": best.value,
        "params": best.params,
        "n": default["qa_scored"],
        "trials": trials,
        "seconds": time.perf_counter() - t,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pages", type=int, default=1000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--model", help="a local embedding model dir for the hybrid latency (default: a tiny one)")
    ap.add_argument("--workdir", default="/tmp/llmsweep-rag-bench")
    ap.add_argument("--sweep-trials", type=int, default=12, help="trials of the RAG sweep (0: skip it)")
    a = ap.parse_args()
    if not FONT.is_file():
        raise SystemExit(f"{FONT} missing: apt-get install fonts-nanum")
    work = Path(a.workdir)
    stamp = work / "docs" / f"{a.pages}.pages"
    if not stamp.is_file():  # the same seeded PDFs as last time are reused
        shutil.rmtree(work, ignore_errors=True)
        t = time.perf_counter()
        make_pdfs(work / "docs", a.pages)
        stamp.touch()
        print(
            f"generated {a.pages} pages in {len(list((work / 'docs').glob('*.pdf')))} PDFs "
            f"({time.perf_counter() - t:.1f} s, not timed)"
        )
    for old in ("index", "tiny-embedder"):
        shutil.rmtree(work / old, ignore_errors=True)

    ing = in_subprocess(INGEST, str(work / "docs"), str(work / "index"), str(a.workers))
    print(ing["line"])
    print(
        f"ingest: {ing['pages']} pages in {ing['wall']:.1f} s wall = {ing['pages'] / ing['wall']:.1f} pages/s "
        f"({ing['pages'] / ing['seconds']:.1f} pages/s without interpreter start-up), {a.workers} workers, "
        f"peak RSS {ing['peak_rss_mb']:,.0f} MB driver, {ing['worker_rss_mb']:,.0f} MB largest worker; "
        f"{ing['cpu_s']:.1f} CPU-s = {ing['pages'] / ing['cpu_s']:.1f} pages per CPU-second "
        "(wall depends on the cores' other load)"
    )

    model = a.model or str(tiny_embedder(work / "tiny-embedder"))
    questions = [r["instruction"] for r in qa_rows()[:200]]
    q = in_subprocess(QUERY, str(work / "index"), json.dumps(questions, ensure_ascii=False), model)
    print(
        f"query over {q['chunks']} chunks, top_k 5, {len(questions)} questions: "
        f"BM25 p50 {q['bm25']['p50']:.2f} ms, p95 {q['bm25']['p95']:.2f} ms; "
        f"hybrid p50 {q['hybrid']['p50']:.2f} ms, p95 {q['hybrid']['p95']:.2f} ms "
        f"({'tiny' if not a.model else a.model} embedder; "
        f"its faiss index built in {q['dense_build_s']:.1f} s, imports included)"
    )

    m = whitespace_vs_korean()
    k, w = m["korean"], m["whitespace"]
    print(
        f"bundled QA ({m['n']} questions): Korean BM25 recall@1/5/10 "
        f"{k['recall@1']:.3f}/{k['recall@5']:.3f}/{k['recall@10']:.3f} MRR {k['mrr']:.3f}; whitespace BM25 "
        f"{w['recall@1']:.3f}/{w['recall@5']:.3f}/{w['recall@10']:.3f} MRR {w['mrr']:.3f} "
        f"(recall@5 ratio {k['recall@5'] / max(w['recall@5'], 1e-9):.2f}x)"
    )
    if a.sweep_trials:
        r = rag_sweep(work, model, a.sweep_trials)
        print(
            f"RAG sweep ({r['n']} generated questions, {r['trials']} trials on 2 workers, {r['seconds']:.0f} s): "
            f"best recall@5 {r['best']:.3f} vs default config {r['default']:.3f} "
            f"(best: {', '.join(f'{k}={v}' for k, v in r['params'].items())})"
        )
    print(
        f"goals: ingest >= 50 pages/s -> {ing['pages'] / ing['wall']:.1f}; "
        f"BM25 p95 <= 20 ms -> {q['bm25']['p95']:.2f} ms"
    )


if __name__ == "__main__":
    main()
