"""Human 1–5 ratings from CSV or JSON Lines (fields prompt, answer, score), validated row by row,
and a judge that looks answers up in them (`judge=human judge.ratings=FILE`)."""

from __future__ import annotations

import csv
from pathlib import Path

from llmsweep.errors import UserError
from llmsweep.judging.verdict import Item, Verdict

FIELDS = ("prompt", "answer", "score")


def read_ratings(path: str | Path) -> dict[tuple[str, str], int]:
    """{(prompt, answer): score}. Errors name the file and line and say what a row needs."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise UserError(f"{path}: no such file. Fix: pass a CSV or JSON Lines file with fields {', '.join(FIELDS)}.")
    rows = _csv_rows(path) if path.suffix.lower() == ".csv" else _jsonl_rows(path)
    out: dict[tuple[str, str], int] = {}
    for lineno, row in rows:
        where = f"{path} line {lineno}"
        for key in FIELDS:  # an empty answer is an answer a model can give (and a rater can score)
            if row.get(key) is None or (key != "answer" and isinstance(row[key], str) and not row[key].strip()):
                raise UserError(f"{where}: missing or empty field '{key}' (each row needs {', '.join(FIELDS)})")
        score = _score(row["score"], where)
        k = (str(row["prompt"]).strip(), str(row["answer"]).strip())
        if k in out and out[k] != score:
            raise UserError(
                f"{where}: this prompt/answer was already rated {out[k]}, now {score}. "
                "Fix: one rating per answer (agree on or average several raters' scores first)."
            )
        out[k] = score
    if not out:
        raise UserError(f"{path}: no ratings in the file")
    return out


def _score(v, where: str) -> int:
    try:
        f = float("nan") if isinstance(v, bool) else float(v)  # JSON true is not a rating
    except (TypeError, ValueError):
        f = float("nan")
    if not (f == f and f.is_integer() and 1 <= f <= 5):
        raise UserError(f"{where}: score {v!r} is not an integer from 1 to 5")
    return int(f)


def _csv_rows(path: Path):
    with open(path, encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        missing = [k for k in FIELDS if k not in (reader.fieldnames or [])]
        if missing:
            raise UserError(
                f"{path} line 1: header {reader.fieldnames} lacks {missing}. Fix: a header row with {', '.join(FIELDS)}."
            )
        start = reader.line_num + 1
        for row in reader:
            yield start, row
            start = reader.line_num + 1  # a quoted field may span lines: report where the row starts


def _jsonl_rows(path: Path):
    from llmsweep.data.records import json_objects

    with open(path, encoding="utf-8") as f:
        yield from json_objects(f, path, list(FIELDS))


class HumanRatings:
    """Scores answers from a ratings file; an answer nobody rated is missing."""

    def __init__(self, ratings: str):
        self.path = str(ratings)
        self.ratings = read_ratings(ratings)

    def judge(self, items: list[Item]) -> list[Verdict]:
        out = []
        for item in items:
            score = self.ratings.get((item.prompt.strip(), item.answer.strip()))
            if score is None:
                out.append(Verdict(None, missing=f"no human rating in {self.path}"))
            else:
                out.append(Verdict(score, raw=f"human rating from {self.path}", attempts=1))
        return out
