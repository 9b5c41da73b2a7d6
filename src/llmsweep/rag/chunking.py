"""Pages -> chunks: sentences (kiwipiepy) and table rows packed up to `size`, with `overlap` carried over.

Rules, so chunk texts are predictable:
- A chunk never crosses a page: every hit names one page.
- Units are whole sentences of the page's paragraphs and whole table rows (`cell | cell`); sentences of a
  paragraph join with a space, a new paragraph and every table row start a new line.
- A unit larger than `size` is cut at morpheme boundaries into pieces of at most `size` (a single morpheme
  longer than that is cut by characters).
- `overlap`: the next chunk starts with the last whole units of the previous one whose total size is at most
  `overlap` (so overlap 0 = no repeated text, and a sentence longer than `overlap` is never repeated).
- Size is counted in characters of the unit texts (unit=chars) or in morphemes (unit=tokens).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from itertools import pairwise

from llmsweep.errors import UserError
from llmsweep.rag import korean

UNITS = ("chars", "tokens")


@dataclass(frozen=True)
class ChunkSettings:
    size: int = 500
    overlap: int = 50
    unit: str = "chars"

    def __post_init__(self):
        if self.unit not in UNITS:
            raise UserError(
                f"chunk.unit={self.unit!r} is not one of {', '.join(UNITS)}: set chunk.unit=chars or tokens"
            )
        if self.size < 1 or not 0 <= self.overlap < self.size:
            raise UserError(
                f"chunk.size={self.size}, chunk.overlap={self.overlap}: need size >= 1 and 0 <= overlap < size"
            )

    def as_dict(self) -> dict:
        return asdict(self)

    def describe(self) -> str:
        return f"chunk.size={self.size} chunk.overlap={self.overlap} chunk.unit={self.unit}"


@dataclass(frozen=True)
class Unit:
    text: str
    terms: tuple[str, ...]
    size: int
    row: bool = False  # a table row: a line of its own
    opens: bool = False  # the first sentence of a paragraph: starts a new line


@dataclass(frozen=True)
class Chunk:
    text: str
    terms: tuple[str, ...]


def _size(text: str, n_tokens: int, unit: str) -> int:
    return len(text) if unit == "chars" else n_tokens


def _cut(sentence: korean.Sentence, s: ChunkSettings) -> list[Unit]:
    """An oversized sentence as pieces of at most `size`, cut between morphemes."""
    text = sentence.text
    spans = korean.token_spans(text)
    pieces, start, count = [], 0, 0
    for a, b in spans:
        grown = b - start if s.unit == "chars" else count + 1
        if grown > s.size and count:
            pieces.append(text[start:a])
            start, count = a, 0
        while s.unit == "chars" and b - start > s.size:  # one morpheme longer than a chunk
            pieces.append(text[start : start + s.size])
            start += s.size
        count += 1
    pieces.append(text[start:])
    out = []
    for p in (p.strip() for p in pieces):
        if p:
            sub = korean.sentences(p)
            out.append(Unit(p, tuple(t for x in sub for t in x.terms), _size(p, sum(x.n_tokens for x in sub), s.unit)))
    return out


def units(blocks: list[tuple[str, str]], s: ChunkSettings) -> list[Unit]:
    """A page's blocks (("text", paragraph) or ("row", "cell | cell")) as chunking units."""
    out: list[Unit] = []
    for kind, text in blocks:
        if kind == "row":
            sub = korean.sentences(text)
            terms = tuple(t for x in sub for t in x.terms)
            unit = Unit(text, terms, _size(text, sum(x.n_tokens for x in sub), s.unit), row=True)
            out += (
                [unit] if unit.size <= s.size else [Unit(u.text, u.terms, u.size, row=True) for u in _cut_row(text, s)]
            )
            continue
        for i, sent in enumerate(korean.sentences(text)):
            unit = Unit(sent.text, sent.terms, _size(sent.text, sent.n_tokens, s.unit), opens=i == 0)
            pieces = [unit] if unit.size <= s.size else _cut(sent, s)
            if i == 0 and pieces:
                pieces[0] = Unit(pieces[0].text, pieces[0].terms, pieces[0].size, opens=True)
            out += pieces
    return out


def _cut_row(text: str, s: ChunkSettings) -> list[Unit]:
    return _cut(korean.Sentence(text, (), 0), s)


def _join(us: list[Unit]) -> str:
    text = us[0].text
    for prev, u in pairwise(us):
        text += ("\n" if u.row or u.opens or prev.row else " ") + u.text
    return text


def pack(us: list[Unit], s: ChunkSettings) -> list[Chunk]:
    """Greedy packing of units into chunks of at most `size`, each starting with the previous one's overlap."""
    chunks: list[Chunk] = []
    current: list[Unit] = []
    fresh = 0  # units of `current` not carried over from the previous chunk

    def emit():
        chunks.append(Chunk(_join(current), tuple(t for u in current for t in u.terms)))

    for u in us:
        if current and sum(x.size for x in current) + u.size > s.size:
            if fresh:
                emit()
            carried: list[Unit] = []
            for x in reversed(current):
                if sum(c.size for c in carried) + x.size > s.overlap:
                    break
                carried.insert(0, x)
            while carried and sum(c.size for c in carried) + u.size > s.size:
                carried.pop(0)
            current, fresh = carried, 0
        current.append(u)
        fresh += 1
    if current and fresh:
        emit()
    return chunks


def chunk_blocks(blocks: list[tuple[str, str]], s: ChunkSettings) -> list[Chunk]:
    return pack(units(blocks, s), s)
