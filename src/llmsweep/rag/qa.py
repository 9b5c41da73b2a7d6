"""Question/answer pairs over chunks: the grounding checks of `make-data` and the gold of a RAG run's QA set.

Grounding (make-data keeps a generated pair only if all hold; each failure is a counted reject reason):
- the answer is supported by its chunk: after NFKC and with all whitespace removed, the answer (trailing
  punctuation stripped) is a substring of the chunk (a span), or at least `min_overlap` (0.8) of the answer's
  character bigrams occur in the chunk (a high character overlap: a reworded span, e.g. another particle);
- the question is not answerable from the title alone: the answer must not be found (span or overlap) in the
  document's title (its file name without extension, `_`/`-` read as spaces), nor in the question itself;
- duplicates (the same question after the same normalisation) are dropped, counted.

Gold of a QA item (rag.py): an item has `question`, `answer` and optionally `doc` and `page` (make-data's
held-out split writes them; `instruction`/`response` are read as question/answer, so Dolly records work too).
A retrieved chunk is relevant when it contains the answer (whitespace-free) and, where the item names them, is
on the same doc and page. Chunk ids change with chunk settings, so the gold is never a chunk id.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from llmsweep.errors import UserError

MIN_OVERLAP = 0.8
_SPACE = re.compile(r"\s+")
_EDGE_PUNCT = ".,!?;:·…\"'()[]{}「」『』<>“”‘’。"


def squash(text: str) -> str:
    """NFKC, no whitespace: the form spans are compared in (PDF line breaks and spacing do not matter)."""
    return _SPACE.sub("", unicodedata.normalize("NFKC", text))


def _core(answer: str) -> str:
    return squash(answer).strip(_EDGE_PUNCT)


def _bigrams(s: str) -> set[str]:
    return {s[i : i + 2] for i in range(len(s) - 1)} if len(s) > 1 else {s}


def supported(answer: str, text: str, min_overlap: float = MIN_OVERLAP) -> bool:
    """The answer is a span of `text` or shares at least `min_overlap` of its character bigrams with it."""
    a, t = _core(answer), squash(text)
    if not a:
        return False
    if a in t:
        return True
    grams = _bigrams(a)
    return len(a) > 2 and len(grams & _bigrams(t)) / len(grams) >= min_overlap


def contains(text: str, answer: str) -> bool:
    """Span only: the (whitespace-free) answer is in the text. What gold matching uses."""
    a = _core(answer)
    return bool(a) and a in squash(text)


def title_of(doc: str) -> str:
    """A document's title: its file name without extension, `_` and `-` as spaces."""
    return re.sub(r"[_\-]+", " ", PurePosixPath(doc).stem)


def question_key(question: str) -> str:
    """Duplicate questions are equal under this key: NFKC, lower case, no whitespace or punctuation."""
    return re.sub(r"[\W_]+", "", unicodedata.normalize("NFKC", question).lower())


def grounding_problem(question: str, answer: str, chunk_text: str, doc: str, min_overlap: float = MIN_OVERLAP):
    """(reason, detail) why a generated pair is not kept, or None."""
    if not question.strip():
        return "empty question", ""
    if not answer.strip():
        return "empty answer", ""
    if not supported(answer, chunk_text, min_overlap):
        return "answer not in chunk", f"neither a span of the chunk nor {min_overlap:.0%} of its character bigrams"
    if supported(answer, title_of(doc), min_overlap):
        return "answerable from the title", f"the answer is in the title {title_of(doc)!r}"
    if contains(question, answer):
        return "answer given in the question", ""
    return None


@dataclass(frozen=True)
class QAItem:
    question: str
    answer: str
    doc: str | None = None
    page: int | None = None

    def relevant(self, doc: str, page: int, text: str) -> bool:
        if self.doc is not None and doc != self.doc:
            return False
        if self.page is not None and page != self.page:
            return False
        return contains(text, self.answer)


def _field(rec: dict, *names: str):
    return next((rec[n] for n in names if isinstance(rec.get(n), str) and rec[n].strip()), None)


def read_qa(path: str | Path) -> list[QAItem]:
    """A QA set: JSON Lines of {"question"|"instruction", "answer"|"response", "doc"?, "page"?}."""
    from llmsweep.jsonl import read_jsonl

    p = Path(path)
    if not p.is_file():
        raise UserError(
            f"rag.qa={path}: no such file. Fix: point rag.qa at a JSON Lines QA set "
            "(python -m llmsweep.rag make-data writes one: OUT.qa.jsonl)"
        )
    items = []
    for n, rec in enumerate(read_jsonl(p), 1):
        rec = rec if isinstance(rec, dict) else {}
        q, a = _field(rec, "question", "instruction"), _field(rec, "answer", "response")
        if q is None or a is None:
            raise UserError(
                f"{p} line {n}: a QA item needs a non-empty question (or instruction) and answer (or response)"
            )
        page = rec.get("page")
        if page is not None and (isinstance(page, bool) or not isinstance(page, int)):
            raise UserError(f"{p} line {n}: page={page!r} is not a page number")
        items.append(QAItem(q, a, rec.get("doc") or None, page))
    if not items:
        raise UserError(f"rag.qa={path}: no QA items in the file")
    return items
