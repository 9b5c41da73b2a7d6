"""The two record formats runs train on, and how each becomes a conversation for trl."""

from __future__ import annotations

import json
from collections.abc import Iterator

from llmsweep.errors import UserError

DOLLY_FIELDS = ("instruction", "context", "response", "category")
PREFS_FIELDS = ("prompt", "chosen", "rejected")
# databricks-dolly-15k's categories; QA with a context is closed_qa
CATEGORIES = frozenset(
    {
        "open_qa",
        "closed_qa",
        "general_qa",
        "brainstorming",
        "classification",
        "summarization",
        "information_extraction",
        "creative_writing",
    }
)


def dolly_problem(rec: dict) -> str | None:
    """Why `rec` is not a valid Dolly record, or None when it is (called once per converted record: kept lean)."""
    get = rec.get
    instruction, context, response, category = get("instruction"), get("context"), get("response"), get("category")
    if not (isinstance(instruction, str) and isinstance(context, str) and isinstance(response, str)):
        key = next(k for k in DOLLY_FIELDS if not isinstance(get(k), str))
        return f"field '{key}' is {type(get(key)).__name__}, not a string"
    if not isinstance(category, str):
        return f"field 'category' is {type(category).__name__}, not a string"
    if blank(instruction):
        return "empty instruction"
    if blank(response):
        return "empty response"
    if category not in CATEGORIES:
        return f"unknown category '{category}' (known: {', '.join(sorted(CATEGORIES))})"
    if category == "open_qa" and not blank(context):
        return "open_qa with a context: QA over a given context is closed_qa"
    if category == "closed_qa" and blank(context):
        return "closed_qa without a context"
    return None


def blank(s: str) -> bool:
    """Empty or whitespace only, without copying the string (strip() would: contexts run to many KB)."""
    return not s or s.isspace()


def prefs_problem(rec: dict) -> str | None:
    for key in PREFS_FIELDS:
        if not _non_empty(rec.get(key)):
            return f"missing or empty '{key}'"
    if rec["chosen"] == rec["rejected"]:
        return "chosen equals rejected"
    return None


REQUIRED = {"dolly": ("instruction", "response"), "prefs": PREFS_FIELDS}


def json_objects(lines, path, fields: list[str]) -> Iterator[tuple[int, dict]]:
    """(line number, object) of each non-blank JSON Lines line; a bad line is a UserError naming path:line."""
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as e:
            raise UserError(f"{path} line {lineno}: not valid JSON ({e.msg})") from None
        if not isinstance(rec, dict):
            raise UserError(f"{path} line {lineno}: expected a JSON object with fields {fields}")
        yield lineno, rec


def read_jsonl(path: str, fmt: str) -> Iterator[dict]:
    """Records of a JSON Lines file, each checked against its format; errors name file:line:field."""
    fields = DOLLY_FIELDS if fmt == "dolly" else PREFS_FIELDS
    try:
        f = open(path, encoding="utf-8")
    except OSError as e:
        raise UserError(
            f"data.path {path}: {e.strerror}. Fix: point data.path at a JSON Lines file of {fmt} records."
        ) from e
    with f:
        for lineno, rec in json_objects(f, path, list(fields)):
            yield checked(rec, fmt, f"{path} line {lineno}")


def checked(rec: dict, fmt: str, where: str) -> dict:
    """`rec` reduced to its format's fields; a missing required field is a UserError naming `where`."""
    for key in REQUIRED[fmt]:
        if not _non_empty(rec.get(key)):
            raise UserError(f"{where}: missing or empty field '{key}' (a {fmt} record needs {list(REQUIRED[fmt])})")
    return {k: rec.get(k) or "" for k in (DOLLY_FIELDS if fmt == "dolly" else PREFS_FIELDS)}


def _non_empty(v) -> bool:
    """A non-empty string, or a non-empty list of chat messages (trl's conversational form)."""
    return (isinstance(v, str) and bool(v.strip())) or (isinstance(v, list) and bool(v))


def _messages(v, role: str) -> list[dict]:
    return v if isinstance(v, list) else [{"role": role, "content": v}]


def user_turn(rec: dict) -> str:
    """The human turn: the context (when there is one), a blank line, then the instruction,
    the same layout as the prompts of the preference data."""
    ctx = rec.get("context") or ""
    return f"{ctx}\n\n{rec['instruction']}" if ctx.strip() else rec["instruction"]


def sft_example(rec: dict) -> dict:
    """Conversational prompt/completion: trl computes the loss on the completion (the response) only."""
    return {
        "prompt": [{"role": "user", "content": user_turn(rec)}],
        "completion": [{"role": "assistant", "content": rec["response"]}],
    }


def dpo_example(rec: dict) -> dict:
    """Conversational preference pair (avoids BPE merges across a plain-string prompt boundary)."""
    return {
        "prompt": _messages(rec["prompt"], "user"),
        "chosen": _messages(rec["chosen"], "assistant"),
        "rejected": _messages(rec["rejected"], "assistant"),
    }
