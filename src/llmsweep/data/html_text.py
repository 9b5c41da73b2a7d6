"""Readable text from KorQuAD 2.0's Wikipedia HTML, with a real HTML parser (resiliparse / lexbor):
block structure kept, table cells joined with ' | ', list items bulleted, scripts and styles dropped."""

from __future__ import annotations

import re

from resiliparse.extract.html2text import extract_plain_text

_CELL_GAP = re.compile(r"\t+")
_EDIT_LINK = re.compile(r"\[편집\]")
_BLANKS = re.compile(r"\n{3,}")
_FRAGMENT_WRAP = {"<td": "<table><tr>{}</tr></table>", "<th": "<table><tr>{}</tr></table>", "<tr": "<table>{}</table>"}


def html_to_text(html: str) -> str:
    text = extract_plain_text(
        html, preserve_formatting=True, main_content=False, list_bullets=True, alt_texts=False, links=False
    )
    text = _EDIT_LINK.sub("", text)
    text = _CELL_GAP.sub(" | ", text)
    return _BLANKS.sub("\n\n", text).strip()


def fragment_to_text(fragment: str) -> str:
    """An answer span: plain text stays as it is; an HTML fragment (table answers) is converted."""
    if "<" not in fragment:
        return fragment.strip()
    head = fragment.lstrip()[:3].lower()
    return html_to_text(_FRAGMENT_WRAP.get(head, "{}").format(fragment))


def window(text: str, start: int, length: int, budget: int) -> str:
    """At most ~`budget` characters of `text` around [start, start+length), cut at line or word
    boundaries; the answer span is always inside."""
    if len(text) <= budget:
        return text
    lo = max(0, start - max(0, budget - length) // 2)
    hi = min(len(text), max(lo + budget, start + length))
    lo = max(0, min(lo, hi - budget))
    if lo > 0:
        cut = max(text.rfind("\n", lo, start), text.rfind(" ", lo, start))
        lo = cut + 1 if cut >= lo else lo
    if hi < len(text):
        cut = max(text.find("\n", start + length, hi), text.rfind(" ", start + length, hi))
        hi = cut if cut > start + length else hi
    return text[lo:hi].strip()
