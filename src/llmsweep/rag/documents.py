"""Documents -> pages of blocks: ("text", paragraph) and ("row", "cell | cell").

PDFs: text through PDFium (pypdfium2, fast); a page that draws lines or boxes is read again with pdfplumber,
which finds ruled tables: their rows become `cell | cell` blocks in reading order (as the KorQuAD 2.0 converter
writes HTML tables) and their cells are left out of the running text. .txt/.md: UTF-8 (else CP949, the Korean
Windows encoding), pages split at form feeds. .html/.htm: through `llmsweep.data.html_text`, tables as rows.

A page without text becomes a reject with its reason; a file that cannot be read at all is one reject
(page None): encrypted, unreadable, empty, not text, unsupported type.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

SUFFIXES = (".pdf", ".txt", ".md", ".html", ".htm")

# reject reasons (rejects.jsonl, the summary line)
ENCRYPTED = "encrypted"
IMAGE_ONLY = "scanned image without text"
EMPTY = "empty"
UNREADABLE = "unreadable"
NOT_TEXT = "not UTF-8 or CP949 text"
UNSUPPORTED = "unsupported file type"

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\ufffe\uffff]")
_SPACES = re.compile(r"[ \t\u00a0\u3000]+")
_MD_RULE = re.compile(r"^\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?$")
_MD_HEADING = re.compile(r"^#{1,6}\s+")
_PDFIUM_REASON = re.compile(r"^.*\(PDFium: (.*)\)\.?$")
_BULLET = re.compile(r"^([-*•·▪◦]|\d+[.)])\s+")


@dataclass
class Page:
    number: int  # 1-based
    blocks: list[tuple[str, str]] = field(default_factory=list)
    reject: str | None = None


class DocumentError(Exception):
    """The whole file is unusable: `reason` is one of the reject reasons, `detail` says why."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason, self.detail = reason, detail


def read_pages(path: Path) -> list[Page]:
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise DocumentError(UNSUPPORTED, f"{suffix or 'no suffix'} (supported: {' '.join(SUFFIXES)})")
    try:
        if path.stat().st_size == 0:
            raise DocumentError(EMPTY, "0 bytes")
        if suffix == ".pdf":
            return _pdf_pages(path)
        text = _decode(path.read_bytes())
    except OSError as e:
        raise DocumentError(UNREADABLE, e.strerror or str(e)) from None
    if suffix in (".html", ".htm"):
        from llmsweep.data.html_text import html_to_text

        text = html_to_text(text)
    pages = []
    for number, page_text in enumerate(text.split("\f"), 1):
        blocks = text_blocks(page_text)
        pages.append(Page(number, blocks, None if blocks else EMPTY))
    return pages


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "cp949"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            pass
    raise DocumentError(NOT_TEXT, "re-save the file as UTF-8")


def _clean(line: str) -> str:
    return _SPACES.sub(" ", _CONTROL.sub("", line)).strip()


def text_blocks(text: str) -> list[tuple[str, str]]:
    """Paragraphs (blank-line separated, wrapped lines joined with a space) and table rows: lines with ` | `
    (our HTML path) or Markdown `| a | b |` rows. Headings and list items are paragraphs of their own."""
    blocks: list[tuple[str, str]] = []
    para: list[str] = []

    def flush():
        if para:
            blocks.append(("text", " ".join(para)))
            para.clear()

    for raw in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = _clean(raw)
        if not line or _MD_RULE.match(line) and "-" in line and "|" in line:
            flush()
        elif line.startswith("|") and line.endswith("|") and len(line) > 1:
            flush()
            blocks.append(("row", " | ".join(c.strip() for c in line[1:-1].split("|"))))
        elif " | " in line:
            flush()
            blocks.append(("row", line))
        elif _MD_HEADING.match(line) or _BULLET.match(line):
            flush()
            para.append(_MD_HEADING.sub("", line))
            flush()
        else:
            para.append(line)
    flush()
    return [(k, t) for k, t in blocks if t.strip(" |")]


def _pdf_pages(path: Path) -> list[Page]:
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    try:
        doc = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as e:
        if "password" in str(e).lower():
            raise DocumentError(ENCRYPTED, "needs a password: decrypt it first (e.g. qpdf --decrypt)") from None
        raise DocumentError(UNREADABLE, _PDFIUM_REASON.sub(r"\1", str(e))) from None
    plumber = None
    pages = []
    try:
        if len(doc) == 0:
            raise DocumentError(EMPTY, "no pages")
        for i in range(len(doc)):
            try:
                page = doc[i]
                text = page.get_textpage().get_text_range()
                kinds = {obj.type for obj in page.get_objects(max_depth=3)}
            except pdfium.PdfiumError:
                pages.append(Page(i + 1, [], UNREADABLE))
                continue
            blocks = text_blocks(text)
            if blocks and pdfium_c.FPDF_PAGEOBJ_PATH in kinds:  # lines or boxes: maybe a ruled table
                if plumber is None:
                    import pdfplumber

                    plumber = pdfplumber.open(str(path))
                blocks = _with_tables(plumber.pages[i]) or blocks
            if not blocks:
                reject = IMAGE_ONLY if pdfium_c.FPDF_PAGEOBJ_IMAGE in kinds else EMPTY
            else:
                reject = None
            pages.append(Page(i + 1, blocks, reject))
    finally:
        if plumber is not None:
            plumber.close()
        doc.close()
    return pages


def _with_tables(page) -> list[tuple[str, str]] | None:
    """A page's text with its ruled tables as rows, in reading order; None when it has no table."""
    try:
        tables = page.find_tables()
    except Exception:  # noqa: BLE001 -- pdfminer's layout analysis fails on some odd pages; PDFium's text is still good
        return None
    if not tables:
        return None
    boxes = [t.bbox for t in tables]

    def outside(obj) -> bool:
        if obj.get("object_type") != "char":
            return True
        x, top = (obj["x0"] + obj["x1"]) / 2, (obj["top"] + obj["bottom"]) / 2
        return not any(x0 <= x <= x1 and t0 <= top <= t1 for x0, t0, x1, t1 in boxes)

    items: list[tuple[float, str, object]] = [
        (ln["top"], "text", ln["text"]) for ln in page.filter(outside).extract_text_lines()
    ]
    items += [(t.bbox[1], "table", t.extract()) for t in tables]
    items.sort(key=lambda item: item[0])
    blocks: list[tuple[str, str]] = []
    lines: list[str] = []
    for _, kind, content in items:
        if kind == "text":
            lines.append(content)
            continue
        blocks += text_blocks("\n".join(lines))
        lines = []
        for row in content:
            cells = [_clean((c or "").replace("\n", " ")) for c in row]
            if any(cells):
                blocks.append(("row", " | ".join(cells)))
    blocks += text_blocks("\n".join(lines))
    return blocks
