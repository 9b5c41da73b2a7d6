"""Retrieval metrics over ranked results: recall@k (the gold is among the first k) and MRR."""

from __future__ import annotations

from collections.abc import Hashable, Sequence


def recall_at_k(ranked: Sequence[Sequence[Hashable]], gold: Sequence[Hashable], k: int) -> float:
    """Share of queries whose gold item is among their first `k` results."""
    if not gold:
        return float("nan")
    return sum(g in list(r)[:k] for r, g in zip(ranked, gold)) / len(gold)


def mrr(ranked: Sequence[Sequence[Hashable]], gold: Sequence[Hashable]) -> float:
    """Mean reciprocal rank of the gold item (0 where it is not retrieved)."""
    if not gold:
        return float("nan")
    return sum(1.0 / (list(r).index(g) + 1) if g in r else 0.0 for r, g in zip(ranked, gold)) / len(gold)
