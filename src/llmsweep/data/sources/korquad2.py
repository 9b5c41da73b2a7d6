"""KorQuAD 2.0: Wikipedia pages as HTML (`context`, `raw_html`) with one `answer` per question.

The page is converted to text once per document; the answer (itself HTML for table answers) must be
found in that text, else the question is rejected as lost in conversion. Long pages are windowed
around the answer to `max_context_chars`."""

from __future__ import annotations

from llmsweep.data.html_text import fragment_to_text, html_to_text, window
from llmsweep.data.sources import Options, Reject, question_row

FORMAT = "dolly"


class Page:
    """A document's text, computed on first use and shared by its questions."""

    def __init__(self, doc: dict):
        self.doc = doc
        self._text: str | None = None

    @property
    def text(self) -> str:
        if self._text is None:
            self._text = html_to_text(self.doc["context"])
        return self._text


def rows(doc, where):
    if not isinstance(doc, dict) or not isinstance(doc.get("context"), str) or not isinstance(doc.get("qas"), list):
        yield where, Reject("malformed document", "needs an HTML 'context' string and a 'qas' list")
        return
    page = Page(doc)
    for k, qa in enumerate(doc["qas"]):
        yield f"{where}.qas[{k}]", (page, qa)


def reject_record(payload):
    """What the rejects file keeps of a row: the question and its page's identity, not its HTML."""
    if isinstance(payload, tuple):
        page, qa = payload
        return {"title": page.doc.get("title"), "url": page.doc.get("url"), "qa": qa}
    return None


def convert(payload, opts: Options) -> list[dict]:
    page, qa, question = question_row(payload)
    answer = qa.get("answer")
    if not isinstance(answer, dict) or not isinstance(answer.get("text"), str):
        raise Reject("no answer")
    text = fragment_to_text(answer["text"])
    if not text:
        raise Reject("empty answer")
    body = page.text
    # the occurrence nearest the answer's relative position in the HTML
    html_len = max(1, len(page.doc["context"]))
    guess = int(len(body) * (answer.get("answer_start") or 0) / html_len)
    hits = []
    pos = body.find(text)
    while pos != -1 and len(hits) < 64:
        hits.append(pos)
        pos = body.find(text, pos + 1)
    if not hits:
        raise Reject("answer lost in HTML to text", text[:80])
    start = min(hits, key=lambda p: abs(p - guess))
    context = window(body, start, len(text), opts.max_context_chars)
    return [{"instruction": question, "context": context, "response": text, "category": "closed_qa"}]
