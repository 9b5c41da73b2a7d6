"""KorQuAD 1.0 in SQuAD layout (data[].paragraphs[].qas[].answers[]) or the flattened
per-paragraph layout ({"qas": [...], "context"} per line) -> closed_qa with the paragraph as context."""

from __future__ import annotations

from llmsweep.data.sources import Options, Reject, blank, question_row

FORMAT = "dolly"


def rows(item, where):
    """One row per question. Items are titles (SQuAD layout) or paragraphs (flattened layout)."""
    if isinstance(item, dict) and isinstance(item.get("paragraphs"), list):
        for j, para in enumerate(item["paragraphs"]):
            yield from _paragraph_rows(para, f"{where}.paragraphs[{j}]")
    else:
        yield from _paragraph_rows(item, where)


def _paragraph_rows(para, where):
    if not isinstance(para, dict) or not isinstance(para.get("qas"), list) or not isinstance(para.get("context"), str):
        yield where, Reject("malformed paragraph", "needs a string 'context' and a 'qas' list")
        return
    for k, qa in enumerate(para["qas"]):
        yield f"{where}.qas[{k}]", (para["context"], qa)


def convert(payload, opts: Options) -> list[dict]:
    context, qa, question = question_row(payload)
    answers = qa.get("answers")
    if not isinstance(answers, list) or not answers or not isinstance(answers[0], dict):
        raise Reject("no answer")
    text = answers[0].get("text")
    if not isinstance(text, str) or blank(text):
        raise Reject("empty answer")
    if blank(context):
        raise Reject("empty context")
    if text not in context:
        raise Reject("answer not in context", text[:80])
    return [{"instruction": question, "context": context, "response": text, "category": "closed_qa"}]
