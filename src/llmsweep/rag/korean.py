"""Korean text analysis with kiwipiepy (its model ships in the `kiwipiepy_model` package: no download).

One analysis of a text gives both its sentences and their morphemes, so chunking and BM25 share it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

# Morphemes that carry no search meaning: particles (J*), endings (E*), affixes that only inflect (XSV, XSA),
# copula (VCP), punctuation and symbols (SF, SP, SS, SE, SO, SW, SB). What remains is what a question and its
# answer passage share whatever particles are attached: 서울은 / 서울에서 / 서울의 all give 서울.
_DROPPED_TAGS = re.compile(r"^(J|E|XSV|XSA|VCP|SF|SP|SS|SE|SO|SW|SB)")
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Sentence:
    text: str
    terms: tuple[str, ...]  # search terms: content morphemes
    n_tokens: int  # every morpheme, the unit of chunk.size when chunk.unit=tokens


@lru_cache(maxsize=1)
def kiwi():
    from kiwipiepy import Kiwi

    return Kiwi(num_workers=1)  # one thread: ingest runs beside other work on few cores


def _terms(tokens) -> tuple[str, ...]:
    return tuple(t.form.lower() for t in tokens if not _DROPPED_TAGS.match(t.tag))


def sentences(text: str) -> list[Sentence]:
    """The sentences of `text` with their search terms, in order; whitespace between them is dropped."""
    if not text.strip():
        return []
    return [
        Sentence(s.text, _terms(s.tokens), len(s.tokens)) for s in kiwi().split_into_sents(text, return_tokens=True)
    ]


def terms(text: str) -> list[str]:
    """Search terms of a query (the same analysis as the indexed sentences)."""
    return list(_terms(kiwi().tokenize(text)))


def token_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) character offsets of every morpheme: where an oversized sentence may be cut."""
    return [(t.start, t.end) for t in kiwi().tokenize(text)]


def whitespace_terms(text: str) -> list[str]:
    """The baseline Korean BM25 is compared with: words as spelled, particles attached (서울은 != 서울의)."""
    return [w.lower() for w in _WORD.findall(text)]
