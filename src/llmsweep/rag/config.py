"""Schema of `rag.py`'s composed config (light imports only: `rag.py --cfg job` loads no model).

A RAG run is a run like train.py's (`RunConf`: tracking, judge, seed, objective, cache_dir, generate): its own
sections are `rag` (where the index and the QA set come from, the prompt), `chunk` (the chunk settings of the
index it builds from `rag.docs`) and `retriever` (conf/retriever/*.yaml).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from omegaconf import MISSING

from llmsweep.config import DataConf, RunConf


@dataclass
class ChunkConf:
    """Chunk settings; null: the index's own (rag.index) or the defaults 500/50/chars (rag.docs)."""

    size: Optional[int] = None
    overlap: Optional[int] = None
    unit: Optional[str] = None


@dataclass
class RagConf:
    index: Optional[str] = None  # a built index dir (python -m llmsweep.rag ingest), or:
    docs: List[str] = field(default_factory=list)  # documents, indexed under cache_dir once per (docs, chunk)
    qa: str = MISSING  # JSON Lines QA set: make-data's held-out split, or {"question","answer","doc"?,"page"?}
    max_items: Optional[int] = None  # the first N QA items only
    prompt: str = "grounded"  # a template of llmsweep.rag.prompting.TEMPLATES
    template: Optional[str] = None  # or a template of your own with {context} and {question}
    ks: List[int] = field(default_factory=lambda: [1, 3, 5, 10])  # recall_at_K metrics
    embedder: Optional[str] = None  # local embedding model dir for retriever=dense|hybrid (when retriever.model unset)
    weight: Optional[float] = None  # hybrid: the dense share, set for every trial of a sweep (bm25 ignores it)


@dataclass
class _RagHead:
    rag: RagConf = field(default_factory=RagConf)
    chunk: ChunkConf = field(default_factory=ChunkConf)
    retriever: Dict[str, Any] = MISSING  # conf/retriever/*.yaml
    run_dir: Optional[str] = None  # the model answering (a run dir, merge output or model dir); null: retrieval only
    engine: Dict[str, Any] = field(default_factory=dict)  # conf/engine/*.yaml: how run_dir's model is loaded


@dataclass
class RagRunConf(RunConf, _RagHead):  # rag prints first (see RunConf)
    data: Optional[DataConf] = None  # a RAG run reads rag.qa, not training data
