"""What every judge takes and gives back."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Item:
    """One answer to grade: the user's turn (instruction with its context), the answer, the reference."""

    prompt: str
    answer: str
    reference: str | None = None


@dataclass
class Verdict:
    """A 1–5 score, or `missing` with its reason (score None: never a stand-in number)."""

    score: int | None
    raw: str = ""  # the judge's own text (chrF value, the LLM's reply, the human's row)
    latency_s: float = 0.0
    missing: str | None = None
    parse: str | None = None  # "strict" | "fallback" for LLM judges (rubric.parse_rating)
    cached: bool = False
    attempts: int = 0


class JudgeCallError(Exception):
    """A judge call that failed (HTTP error, timeout, malformed response); the reason is recorded."""
