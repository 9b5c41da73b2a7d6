"""BM25 (bm25s) over pre-analysed terms, saved in and loaded from a directory."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np


def _bm25s():
    import bm25s

    logging.getLogger("bm25s").setLevel(logging.WARNING)  # its import sets DEBUG: every build would be logged
    return bm25s


class BM25:
    def __init__(self, model):
        self.model = model

    @classmethod
    def build(cls, term_lists: list[list[str]], show_progress: bool = False) -> BM25:
        model = _bm25s().BM25()
        # bm25s needs one token per document at least to build its vocabulary
        model.index([list(t) or [""] for t in term_lists], show_progress=show_progress)
        return cls(model)

    def save(self, directory: Path) -> None:
        self.model.save(str(directory))

    @classmethod
    def load(cls, directory: Path) -> BM25:
        return cls(_bm25s().BM25.load(str(directory), mmap=False))

    def top(self, terms: list[str], k: int) -> list[tuple[int, float]]:
        """(row, score) of the best `k` documents with a positive score, best first."""
        ids = self.model.get_tokens_ids([t for t in terms if t])
        if not ids or k < 1:
            return []
        scores = self.model.get_scores_from_ids(ids)
        k = min(k, len(scores))
        rows = np.argpartition(-scores, k - 1)[:k]
        rows = rows[np.lexsort((rows, -scores[rows]))]  # ties: the earlier chunk first
        return [(int(r), float(scores[r])) for r in rows if scores[r] > 0]
