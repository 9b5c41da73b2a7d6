"""One converter per source layout. Each module has:

- `FORMAT`: "dolly" or "prefs", the records it writes;
- `rows(value, where)`: the accounting rows inside one item read from a file (a conversation, a
  KorQuAD question, ...), as (where, payload) pairs;
- `convert(payload, opts)`: the records of one row, or `Reject` with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType

from llmsweep.data.records import blank


class Reject(Exception):
    """A row that cannot become a record: `reason` is the short kind counted in summaries."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Options:
    first_turn_only: bool = False  # ShareGPT: only the first human/gpt exchange of a conversation
    max_context_chars: int = 4000  # KorQuAD 2.0: window the page text around the answer
    conversational: bool = False  # preference pairs as chat messages instead of strings


def obj(value, what: str = "object") -> dict:
    """`value` when it is a JSON object, else Reject."""
    if not isinstance(value, dict):
        raise Reject(f"malformed {what}" if what != "object" else "not an object", type(value).__name__)
    return value


def text_field(row: dict, key: str) -> str:
    """A non-empty string field, else Reject('empty KEY')."""
    value = row.get(key)
    if not isinstance(value, str) or blank(value):
        raise Reject(f"empty {key}")
    return value


def question_row(payload) -> tuple:
    """(paragraph or page, qa, question) of a KorQuAD row; raises the Reject a malformed paragraph left."""
    if isinstance(payload, Reject):
        raise payload
    part, qa = payload
    qa = obj(qa, "qa")
    return part, qa, text_field(qa, "question")


def one_row(value, where):
    """For layouts where each item read is one row."""
    yield where, value


def source(name: str) -> ModuleType:
    import importlib

    if name not in NAMES:
        from llmsweep.errors import UserError

        raise UserError(f"unknown source '{name}'. Known sources: {', '.join(NAMES)}")
    return importlib.import_module(f"llmsweep.data.sources.{name}")


NAMES = ("kovicuna", "alpaca", "korquad1", "korquad2", "ultrafeedback", "judged")
