"""Retrievers built from `conf/retriever/*.yaml` (`_target_` here): BM25 (default, embedded), dense, hybrid.

    retriever = hydra.utils.instantiate(cfg.retriever, index=cfg.rag.index)   # or an opened Index
    hits = retriever.search("서울의 인구는?")                                  # [Hit(doc, page, chunk_id, text, score)]

Hybrid is reciprocal rank fusion: score = weight / (rrf_k + dense rank) + (1 - weight) / (rrf_k + BM25 rank)
over each retriever's best `candidates`; weight 0 ranks as BM25 does, weight 1 as dense does.
"""

from __future__ import annotations

from pathlib import Path

from llmsweep.errors import UserError
from llmsweep.rag.index import Hit, Index


def _index(index: Index | str | Path) -> Index:
    return index if isinstance(index, Index) else Index.open(index)


def _top_k(top_k: int) -> int:
    if int(top_k) < 1:
        raise UserError(f"retriever.top_k={top_k}: must be at least 1")
    return int(top_k)


class BM25Retriever:
    def __init__(self, index: Index | str | Path, top_k: int = 5):
        self.index, self.top_k = _index(index), _top_k(top_k)

    def search(self, query: str, top_k: int | None = None) -> list[Hit]:
        return self.index.search(query, top_k or self.top_k)


class DenseRetriever:
    def __init__(self, index: Index | str | Path, model: str, top_k: int = 5):
        self.index, self.top_k = _index(index), _top_k(top_k)
        self.dense = self.index.dense(model)

    def search(self, query: str, top_k: int | None = None) -> list[Hit]:
        return [self.index.hit(r, s) for r, s in self.dense.top(query, top_k or self.top_k)]


def rrf(rankings: list[list[int]], weights: list[float], rrf_k: int = 60) -> list[tuple[int, float]]:
    """Reciprocal rank fusion of rankings (rows, best first): (row, fused score), best first, ties by row."""
    fused: dict[int, float] = {}
    for rows, w in zip(rankings, weights):
        for rank, row in enumerate(rows, 1):
            fused[row] = fused.get(row, 0.0) + w / (rrf_k + rank)
    return sorted(fused.items(), key=lambda item: (-item[1], item[0]))


class HybridRetriever:
    def __init__(
        self,
        index: Index | str | Path,
        model: str,
        top_k: int = 5,
        weight: float = 0.5,
        rrf_k: int = 60,
        candidates: int = 50,
    ):
        if not 0.0 <= float(weight) <= 1.0:
            raise UserError(f"retriever.weight={weight}: the dense share of the fusion must be within [0, 1]")
        self.index, self.top_k, self.weight = _index(index), _top_k(top_k), float(weight)
        self.rrf_k, self.candidates = int(rrf_k), int(candidates)
        self.dense = self.index.dense(model)

    def search(self, query: str, top_k: int | None = None) -> list[Hit]:
        from llmsweep.rag.korean import terms

        k = top_k or self.top_k
        n = max(self.candidates, k)
        sparse = [r for r, _ in self.index.bm25.top(terms(query), n)]
        dense = [r for r, _ in self.dense.top(query, n)]
        fused = rrf([dense, sparse], [self.weight, 1.0 - self.weight], self.rrf_k)
        return [self.index.hit(r, s) for r, s in fused[:k]]


def make_retriever(spec, index: Index | str | Path, embedder: str | None = None, weight: float | None = None):
    """The retriever of a conf/retriever/*.yaml node over `index`. `embedder` fills a dense/hybrid `model` left
    unset (???), `weight` replaces a hybrid's: so a sweep can set both for every trial whatever retriever it
    picked (keys a bm25 node does not have cannot be overridden there)."""
    from hydra.errors import InstantiationException
    from hydra.utils import instantiate
    from omegaconf import OmegaConf

    spec = OmegaConf.create(OmegaConf.to_container(spec, resolve=True, throw_on_missing=False))
    kind = str(spec.get("_target_", "")).rsplit(".", 1)[-1]
    if "model" in spec.keys() and OmegaConf.is_missing(spec, "model"):  # `in` is False for a ??? value
        if embedder is None:
            raise UserError(
                f"{kind} needs an embedding model: set retriever.model=DIR (or rag.embedder=DIR), "
                "a local sentence-transformers model directory"
            )
        spec.model = embedder
    if weight is not None and "weight" in spec:
        spec.weight = weight
    try:
        return instantiate(spec, index=index)
    except InstantiationException as e:
        if isinstance(e.__cause__, UserError):
            raise e.__cause__ from None
        raise
