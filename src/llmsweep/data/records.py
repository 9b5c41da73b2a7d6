"""The two record formats runs train on, and how each becomes a conversation for trl."""

from __future__ import annotations

import json
from typing import Iterator

from llmsweep.errors import UserError

DOLLY_FIELDS = ("instruction", "context", "response", "category")
PREFS_FIELDS = ("prompt", "chosen", "rejected")
REQUIRED = {"dolly": ("instruction", "response"), "prefs": PREFS_FIELDS}


def read_jsonl(path: str, fmt: str) -> Iterator[dict]:
    """Records of a JSON Lines file, each checked against its format; errors name file:line:field."""
    fields = DOLLY_FIELDS if fmt == "dolly" else PREFS_FIELDS
    try:
        f = open(path, encoding="utf-8")
    except OSError as e:
        raise UserError(f"data.path {path}: {e.strerror}. Fix: point data.path at a JSON Lines file of {fmt} records.") from e
    with f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as e:
                raise UserError(f"{path} line {lineno}: not valid JSON ({e.msg})") from e
            if not isinstance(rec, dict):
                raise UserError(f"{path} line {lineno}: expected a JSON object with fields {list(fields)}")
            for key in REQUIRED[fmt]:
                if not isinstance(rec.get(key), str) or not rec[key].strip():
                    raise UserError(f"{path} line {lineno}: missing or empty field '{key}' (a {fmt} record needs {list(REQUIRED[fmt])})")
            yield {k: rec.get(k) or "" for k in fields}


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
        "prompt": [{"role": "user", "content": rec["prompt"]}],
        "chosen": [{"role": "assistant", "content": rec["chosen"]}],
        "rejected": [{"role": "assistant", "content": rec["rejected"]}],
    }
