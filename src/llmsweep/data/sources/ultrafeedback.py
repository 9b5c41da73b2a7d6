"""UltraFeedback-binarized rows: {"prompt", "chosen": [messages], "rejected": [messages],
"score_chosen", "score_rejected"} -> a preference pair; ties carry no preference and are dropped."""

from __future__ import annotations

from llmsweep.data.sources import Options, Reject, obj, one_row, text_field
from llmsweep.data.sources.judged import pair

FORMAT = "prefs"
rows = one_row


def _answer(messages, key: str) -> str:
    if isinstance(messages, str):
        return messages
    if isinstance(messages, list):
        for m in reversed(messages):
            if isinstance(m, dict) and m.get("role") == "assistant" and isinstance(m.get("content"), str):
                return m["content"]
    raise Reject("no assistant turn", f"'{key}' has no assistant message")


def convert(row, opts: Options) -> list[dict]:
    prompt = text_field(obj(row), "prompt")
    chosen, rejected = _answer(row.get("chosen"), "chosen"), _answer(row.get("rejected"), "rejected")
    sc, sr = row.get("score_chosen"), row.get("score_rejected")
    if sc is not None and sr is not None and sc == sr:
        raise Reject("tie", f"both scored {sc}")
    return [pair(prompt, chosen, rejected, opts)]
