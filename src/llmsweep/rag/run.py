"""The RAG recipe: index (built once per documents and chunk settings) -> retrieve and answer every QA item ->
retrieval metrics, latency and answers for the judge. Run by the run harness like training (job_type=rag), so
the same sweeper searches chunking, retriever, top_k, the prompt and the hybrid weight.

Answers: with `run_dir` the model there answers (greedy, the prompt template around the retrieved chunks, its
engine from conf/engine like serve.py); without it the run is retrieval-only and the answer is the top chunk
(the judge then scores how well the best chunk alone answers). Tiny models answer noise: recall@k is the signal.

Gold (see rag.qa): a hit is relevant when it contains the answer and lies on the item's doc and page (if named).
An item whose doc or page is not in the index is rejected and counted (`qa_rejected_by_reason`); an item whose
answer no chunk holds under these chunk settings (cut between two chunks) counts as a miss (`qa_unreachable`).
"""

from __future__ import annotations

import logging
import statistics
import time
from collections import Counter
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from llmsweep.errors import UserError
from llmsweep.harness import Outcome, Recipe, Run

log = logging.getLogger(__name__)


def _chunk_settings(cfg: DictConfig, base=None):
    from llmsweep.rag.chunking import ChunkSettings

    given = {k: v for k, v in OmegaConf.to_container(cfg.chunk).items() if v is not None}
    if not given:
        return base
    return ChunkSettings(**{**(base.as_dict() if base is not None else {}), **given})


def check(cfg: DictConfig) -> None:
    """Config mistakes fail before any index is built or model loaded."""
    from llmsweep.rag.prompting import template_of

    if OmegaConf.is_missing(cfg.rag, "qa"):
        raise UserError("rag.qa is required: a JSON Lines QA set (python -m llmsweep.rag make-data writes one)")
    if not Path(cfg.rag.qa).is_file():
        raise UserError(f"rag.qa={cfg.rag.qa}: no such file. Fix: point rag.qa at a JSON Lines QA set")
    if (cfg.rag.index is None) == (not cfg.rag.docs):
        raise UserError(
            "set exactly one of rag.index=DIR (a built index) or rag.docs=[DIR,...] (documents indexed "
            "per chunk settings, what a sweep over chunk.size needs)"
        )
    if not cfg.rag.ks or any(int(k) < 1 for k in cfg.rag.ks):
        raise UserError(f"rag.ks={list(cfg.rag.ks)}: need at least one k >= 1")
    template_of(str(cfg.rag.prompt), cfg.rag.template)
    _chunk_settings(cfg)  # chunk.size/overlap/unit values checked
    if "model" in cfg.retriever.keys() and OmegaConf.is_missing(cfg.retriever, "model") and not cfg.rag.embedder:
        kind = str(cfg.retriever._target_).rsplit(".", 1)[-1]
        raise UserError(
            f"{kind} needs an embedding model: set retriever.model=DIR (or rag.embedder=DIR), "
            "a local sentence-transformers model directory"
        )
    if cfg.rag.index is not None and not Path(cfg.rag.index).is_dir():
        raise UserError(
            f"rag index {cfg.rag.index}: no such directory: build it with "
            f"python -m llmsweep.rag ingest DOCS --out {cfg.rag.index}"
        )


def open_index(cfg: DictConfig):
    from llmsweep.paths import cache_root
    from llmsweep.rag.chunking import ChunkSettings
    from llmsweep.rag.index import Index

    if cfg.rag.index is not None:
        index = Index.open(cfg.rag.index)
        asked = _chunk_settings(cfg, index.chunk_settings)
        if asked is not None and asked != index.chunk_settings:
            raise UserError(
                f"rag.index={cfg.rag.index} was built with {index.chunk_settings.describe()}, but the "
                f"config asks {asked.describe()}: drop the chunk.* overrides, or use rag.docs=[...] "
                "so each chunk setting gets its own cached index"
            )
        return index
    from llmsweep.rag.cached import cached_index

    settings = _chunk_settings(cfg, ChunkSettings()) or ChunkSettings()
    return cached_index(list(cfg.rag.docs), settings, cache_root(cfg))


def _gold_problem(item, pages: dict[str, set[int]]) -> str | None:
    if item.doc is not None and item.doc not in pages:
        return "gold document not in the index"
    if item.page is not None and item.doc is not None and item.page not in pages[item.doc]:
        return "gold page not in the index"
    return None


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q * (len(s) - 1))))]


class _Answerer:
    """The model of `run_dir` answering a templated prompt; prompts beyond its context lose their last hits."""

    def __init__(self, cfg: DictConfig):
        from llmsweep.serving.engine import SamplingParams
        from llmsweep.serving.server import load_engine

        self.engine = load_engine(cfg)
        self.params = SamplingParams(max_tokens=int(cfg.generate.max_new_tokens), temperature=0.0)

    def __call__(self, question: str, hits: list, template: str) -> tuple[str, int]:
        from llmsweep.rag.prompting import augment

        limit = self.engine.context_length
        shown = list(hits)
        while True:
            messages = augment([{"role": "user", "content": question}], shown, template)
            if (
                limit is None
                or not shown
                or self.engine.count_prompt_tokens(messages) + self.params.max_tokens <= limit
            ):
                break
            shown.pop()
        return self.engine.complete(messages, self.params).text, len(hits) - len(shown)


def rag_run(cfg: DictConfig, run: Run) -> Outcome:
    from llmsweep.rag.metrics import mrr, recall_at_k
    from llmsweep.rag.prompting import template_of
    from llmsweep.rag.qa import read_qa
    from llmsweep.rag.retrieval import make_retriever

    started = time.perf_counter()
    index = open_index(cfg)
    index_s = time.perf_counter() - started
    retriever = make_retriever(cfg.retriever, index, cfg.rag.embedder, cfg.rag.weight)
    template = template_of(str(cfg.rag.prompt), cfg.rag.template)
    items = read_qa(cfg.rag.qa)[: cfg.rag.max_items]
    pages: dict[str, set[int]] = {}
    for c in index.chunks:
        pages.setdefault(c["doc"], set()).add(c["page"])
    answerer = _Answerer(cfg) if cfg.run_dir is not None else None
    top_k = int(retriever.top_k)
    depth = max([*map(int, cfg.rag.ks), top_k])
    rejected: Counter = Counter()
    ranked, retrieval_ms, answer_s, answers = [], [], [], []
    unreachable = dropped = 0
    for item in items:
        why = _gold_problem(item, pages)
        if why is not None:
            rejected[why] += 1
            log.warning("rag.qa item %r: %s (%s p.%s); not scored", item.question[:60], why, item.doc, item.page)
            continue
        t = time.perf_counter()
        hits = retriever.search(item.question, depth)
        retrieval_ms.append((time.perf_counter() - t) * 1000)
        relevant = [item.relevant(h.doc, h.page, h.text) for h in hits]
        ranked.append(relevant)
        if not any(relevant) and not any(item.relevant(c["doc"], c["page"], c["text"]) for c in index.chunks):
            unreachable += 1
        shown = hits[:top_k]
        if answerer is not None:
            t = time.perf_counter()
            text, n_dropped = answerer(item.question, shown, template)
            answer_s.append(time.perf_counter() - t)
            dropped += n_dropped
        else:
            text = shown[0].text if shown else ""
        answers.append(
            {
                "prompt": item.question,
                "reference": item.answer,
                "rag_answer": text,
                "gold_rank": relevant.index(True) + 1 if True in relevant else None,
                "sources": [h.source() for h in shown],
            }
        )
    if not ranked:
        raise UserError(
            f"rag.qa={cfg.rag.qa}: none of its {len(items)} items has its gold document/page in the index "
            f"({', '.join(f'{r}: {n}' for r, n in rejected.items())}): is it the QA set of these documents?"
        )
    gold = [True] * len(ranked)
    metrics = {f"recall_at_{k}": recall_at_k(ranked, gold, int(k)) for k in cfg.rag.ks}
    metrics.update(
        recall_at_top_k=recall_at_k(ranked, gold, top_k),
        mrr=mrr(ranked, gold),
        qa_items=len(items),
        qa_scored=len(ranked),
        qa_rejected=sum(rejected.values()),
        qa_rejected_by_reason=dict(rejected),
        qa_unreachable=unreachable,
        retrieval_ms_p50=_pct(retrieval_ms, 0.5),
        retrieval_ms_p95=_pct(retrieval_ms, 0.95),
        answer_s_mean=statistics.fmean(answer_s) if answer_s else 0.0,
        answer_s_p95=_pct(answer_s, 0.95) if answer_s else 0.0,
        prompt_hits_dropped=dropped,
        index_s=index_s,
        index_chunks=len(index),
        index_dir=str(index.root),
        answered_by=str(cfg.run_dir) if answerer is not None else "top chunk (retrieval only)",
        **{f"chunk_{k}": v for k, v in index.chunk_settings.as_dict().items()},
    )
    log.info(
        "recall@%d %.3f, MRR %.3f over %d QA items (%d rejected)",
        top_k,
        metrics["recall_at_top_k"],
        metrics["mrr"],
        len(ranked),
        metrics["qa_rejected"],
    )
    return Outcome(metrics, answers, judged={"tuned": "rag_answer"})


RECIPE = Recipe("rag", rag_run, check)
