"""Schema of `rag.py`'s composed config (light imports only: `rag.py --cfg job` loads no model).

A RAG run is a run like train.py's (`RunConf`: tracking, judge, seed, objective, cache_dir, generate): its own
sections are `rag` (where the index and the QA set come from, the prompt), `chunk` (the chunk settings of the
index it builds from `rag.docs`) and `retriever` (conf/retriever/*.yaml).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from omegaconf import MISSING

from llmsweep.config import DataConf, RunConf


@dataclass
class ChunkConf:
    """Chunk settings; null: the index's own (rag.index) or the defaults 500/50/chars (rag.docs)."""

    size: int | None = None
    overlap: int | None = None
    unit: str | None = None


@dataclass
class RagConf:
    index: str | None = None  # a built index dir (python -m llmsweep.rag ingest), or:
    docs: list[str] = field(default_factory=list)  # documents, indexed under cache_dir once per (docs, chunk)
    qa: str = MISSING  # JSON Lines QA set: make-data's held-out split, or {"question","answer","doc"?,"page"?}
    max_items: int | None = None  # the first N QA items only
    prompt: str = "grounded"  # a template of llmsweep.rag.prompting.TEMPLATES
    template: str | None = None  # or a template of your own with {context} and {question}
    ks: list[int] = field(default_factory=lambda: [1, 3, 5, 10])  # recall_at_K metrics
    embedder: str | None = None  # local embedding model dir for retriever=dense|hybrid (when retriever.model unset)
    weight: float | None = None  # hybrid: the dense share, set for every trial of a sweep (bm25 ignores it)


@dataclass
class _RagHead:
    rag: RagConf = field(default_factory=RagConf)
    chunk: ChunkConf = field(default_factory=ChunkConf)
    retriever: dict[str, Any] = MISSING  # conf/retriever/*.yaml
    run_dir: str | None = None  # the model answering (a run dir, merge output or model dir); null: retrieval only
    engine: dict[str, Any] = field(default_factory=dict)  # conf/engine/*.yaml: how run_dir's model is loaded


@dataclass
class RagRunConf(RunConf, _RagHead):  # rag prints first (see RunConf)
    data: DataConf | None = None  # a RAG run reads rag.qa, not training data
