"""JSON Lines files a run writes and reads back (answers.jsonl, judgments.jsonl): one writer, one reader."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from llmsweep.errors import UserError


def write_jsonl(path: str | Path, rows: Iterable[dict]) -> Path:
    path = Path(path)
    with open(path, "w", encoding="utf-8") as f:
        f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    return path


def read_jsonl(path: str | Path) -> list[dict]:
    """Every object of a JSON Lines file (blank lines skipped); a bad line is a UserError naming it."""
    rows = []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as e:
                    raise UserError(f"{path} line {lineno}: not valid JSON ({e.msg})") from None
    return rows
