"""rag.py, the RAG run, through the real CLI: a run over documents indexed per chunk settings, its metrics and
outputs written by the harness, bad input as one line, and a 6-trial sweep of sweeps/rag.yaml on 2 workers."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("kiwipiepy")

from helpers import REPO, cli_env, read_jsonl, read_metrics
from llmsweep.paths import SAMPLES_DIR


def qa_corpus(d: Path, per_page: int = 6, pages_per_doc: int = 5, every: int = 3, seed: int = 0) -> Path:
    """Documents of the bundled KorQuAD-style passages (`per_page` to a page, form feeds between pages) under
    d/docs/, and d/qa.jsonl: every `every`-th passage's question with its answer, doc and page."""
    rows = [json.loads(line) for line in (SAMPLES_DIR / "dolly_ko.jsonl").read_text(encoding="utf-8").splitlines()]
    qa = [r for r in rows if r["category"] == "closed_qa"]
    random.Random(seed).shuffle(qa)
    docs = d / "docs"
    docs.mkdir(parents=True, exist_ok=True)
    pages: dict[str, list[str]] = {}
    items = []
    for n in range(0, len(qa), per_page):
        page_no = n // per_page
        doc, page = f"doc{page_no // pages_per_doc}.txt", page_no % pages_per_doc + 1
        pages.setdefault(doc, []).append(" ".join(r["context"] for r in qa[n : n + per_page]))
        items += [
            {"question": r["instruction"], "answer": r["response"], "doc": f"docs/{doc}", "page": page}
            for r in qa[n : n + per_page]
        ]
    for name, texts in pages.items():
        (docs / name).write_text("\f".join(texts), encoding="utf-8")
    (d / "qa.jsonl").write_text(
        "".join(json.dumps(it, ensure_ascii=False) + "\n" for it in items[::every]), encoding="utf-8"
    )
    return d


def rag_cli(cache_dir: Path, *args: str, out: Path | None = None, check: bool = True, timeout: int = 600):
    argv = [sys.executable, "rag.py", *args]
    if out is not None:
        argv.append(f"{'hydra.sweep.dir' if '-m' in args else 'hydra.run.dir'}={out}")
    proc = subprocess.run(
        argv, cwd=REPO, env=cli_env(cache_dir, OMP_NUM_THREADS="1"), capture_output=True, text=True, timeout=timeout
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(argv)} exited {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}")
    return proc


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    return qa_corpus(tmp_path_factory.mktemp("ragrun"))


@pytest.fixture(scope="module")
def default_run(cache_dir, corpus) -> Path:
    """rag.py with the default settings (chunk 500/50, bm25, top_k 5, grounded prompt), retrieval only."""
    out = corpus / "default"
    rag_cli(cache_dir, f"rag.docs=[{corpus / 'docs'}]", f"rag.qa={corpus / 'qa.jsonl'}", out=out)
    return out


def test_a_rag_run_writes_metrics_answers_judgments_and_a_wandb_run(default_run, corpus):
    from llmsweep.tracking.offline import offline_runs, read_run

    m = read_metrics(default_run)
    qa = read_jsonl(corpus / "qa.jsonl")
    assert m["qa_items"] == m["qa_scored"] == len(qa) and m["qa_rejected"] == 0
    assert 0 < m["recall_at_1"] <= m["recall_at_3"] <= m["recall_at_5"] <= m["recall_at_10"] <= 1
    assert m["objective"] == m["recall_at_5"] and m["chunk_size"] == 500 and m["chunk_overlap"] == 50
    assert m["retrieval_ms_p95"] > 0 and 1 <= m["judge_mean"] <= 5 and m["judge_count"] == len(qa)
    answers = read_jsonl(default_run / "answers.jsonl")
    assert [a["prompt"] for a in answers] == [q["question"] for q in qa]
    # retrieval only: the answer is the top chunk; recall@1 counts the items whose top chunk holds the answer
    hits_at_1 = sum(a["gold_rank"] == 1 for a in answers)
    assert hits_at_1 == round(m["recall_at_1"] * len(qa))
    for a in answers:
        assert 1 <= len(a["sources"]) <= 5 and set(a["sources"][0]) == {"doc", "page", "chunk_id", "score"}
        if a["gold_rank"] == 1:
            assert a["reference"].replace(" ", "") in a["rag_answer"].replace(" ", "").replace("\n", "")
    assert len(read_jsonl(default_run / "judgments.jsonl")) == len(qa)
    (wb,) = offline_runs(default_run)
    run = read_run(wb)
    assert run["run"]["job_type"] == "rag" and run["summary"]["recall_at_5"] == pytest.approx(m["recall_at_5"])


def test_an_index_built_with_other_chunk_settings_is_refused(default_run):
    from omegaconf import OmegaConf

    from llmsweep.errors import UserError
    from llmsweep.rag.run import open_index

    built = read_metrics(default_run)["index_dir"]  # the cached index of chunk 500/50
    cfg = OmegaConf.create({"rag": {"index": built, "docs": []}, "chunk": {"size": 300, "overlap": None, "unit": None}})
    with pytest.raises(UserError, match=r"was built with chunk.size=500 .*but the config asks chunk.size=300"):
        open_index(cfg)
    cfg.chunk.size = 500  # the index's own settings, said again: fine
    assert open_index(cfg).chunk_settings.size == 500


def test_bad_input_is_one_line(cache_dir, corpus, tmp_path):
    qa = f"rag.qa={corpus / 'qa.jsonl'}"
    cases = {
        (f"rag.index={tmp_path / 'none'}", qa): "no such directory: build it with python -m llmsweep.rag ingest",
        (qa,): "set exactly one of rag.index=DIR",
        (f"rag.docs=[{corpus / 'docs'}]", f"rag.qa={tmp_path / 'qa.jsonl'}"): "no such file",
        (f"rag.docs=[{corpus / 'docs'}]", qa, "rag.prompt=chatty"): "rag.prompt='chatty' is not a template",
        (f"rag.docs=[{corpus / 'docs'}]", qa, "chunk.size=50", "chunk.overlap=60"): "need size >= 1 and 0 <= overlap",
        (f"rag.docs=[{corpus / 'docs'}]", qa, "retriever=hybrid"): "set retriever.model=DIR (or rag.embedder=DIR)",
    }
    for args, message in cases.items():
        proc = rag_cli(cache_dir, *args, "tracking=none", out=tmp_path / "bad", check=False)
        assert proc.returncode == 2, proc.stderr[-2000:]
        assert message in proc.stderr and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    # QA items of other documents are counted rejects; only such items: one line
    other = tmp_path / "other.jsonl"
    other.write_text(json.dumps({"question": "q", "answer": "a", "doc": "docs/elsewhere.pdf", "page": 1}) + "\n")
    proc = rag_cli(
        cache_dir,
        f"rag.docs=[{corpus / 'docs'}]",
        f"rag.qa={other}",
        "tracking=none",
        out=tmp_path / "bad",
        check=False,
    )
    assert proc.returncode == 2 and "gold document not in the index: 1" in proc.stderr


def test_sweep_of_six_trials_on_two_workers_beats_the_default_settings(cache_dir, corpus, default_run, tmp_path):
    import optuna

    from llmsweep.tracking.offline import offline_runs, read_run
    from test_rag_dense import tiny_embedder

    texts = [p.read_text(encoding="utf-8") for p in sorted((corpus / "docs").glob("*.txt"))]
    embedder = tiny_embedder(tmp_path / "embedder", texts)
    db = tmp_path / "optuna.db"
    proc = rag_cli(
        cache_dir,
        "-m",
        "+sweeps=rag",
        "hydra/launcher=submitit_local",
        "hydra.sweeper.n_workers=2",
        "hydra.sweeper.n_trials=6",
        "hydra.sweeper.study_name=rag",
        f"hydra.sweeper.storage=sqlite:///{db}",
        "objective=recall_at_1",
        f"rag.docs=[{corpus / 'docs'}]",
        f"rag.qa={corpus / 'qa.jsonl'}",
        f"rag.embedder={embedder}",
        out=tmp_path / "sweep",
        timeout=900,
    )
    trials = optuna.load_study(study_name="rag", storage=f"sqlite:///{db}").get_trials(deepcopy=False)
    assert len(trials) == 6 and all(t.state.name == "COMPLETE" for t in trials), proc.stdout[-3000:]
    for t in trials:
        run_dir = Path(t.user_attrs["run_dir"])
        m = read_metrics(run_dir)
        assert m["objective"] == pytest.approx(t.value) == pytest.approx(m["recall_at_1"])
        assert m["chunk_size"] == t.params["chunk.size"] and 1 <= m["judge_mean"] <= 5
        (wb,) = offline_runs(run_dir)
        summary = read_run(wb)
        assert summary["run"]["job_type"] == "rag" and "recall_at_5" in summary["summary"]
        assert "judge_mean" in summary["summary"]
    best = max(trials, key=lambda t: t.value)
    default = read_metrics(default_run)
    assert best.value > default["recall_at_1"], (best.params, best.value, default["recall_at_1"])
