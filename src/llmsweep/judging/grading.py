"""The loop every model judge shares: prompt -> call -> strict parse, retried with backoff, cached on disk.

A judge backend only says how to turn chat messages into the judge's reply (`call`); failures and
unparsable replies are retried `attempts` times in all, then recorded missing with the last reason.
Only successful scores are cached, so a later run retries what failed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from tqdm.auto import tqdm

from llmsweep.errors import UserError
from llmsweep.judging.rubric import grading_messages, parse_rating
from llmsweep.judging.verdict import Item, JudgeCallError, Verdict

log = logging.getLogger(__name__)


class JudgmentCache:
    """One small JSON file per (judge identity, prompt, answer, reference) hash under `root`."""

    def __init__(self, root: str | Path):
        self.root = Path(root).expanduser()

    @staticmethod
    def key(identity: str, item: Item) -> str:
        blob = json.dumps([identity, item.prompt, item.answer, item.reference], ensure_ascii=False)
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str) -> Verdict | None:
        path = self._path(key)
        if not path.is_file():
            return None
        try:
            rec = json.loads(path.read_text(encoding="utf-8"))
            return Verdict(score=int(rec["score"]), raw=rec["raw"], latency_s=0.0, parse=rec.get("parse"), cached=True)
        except (OSError, ValueError, KeyError, TypeError):
            return None  # a torn or foreign file: judge again and overwrite it

    def put(self, key: str, v: Verdict) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp{time.monotonic_ns()}")
        tmp.write_text(
            json.dumps({"score": v.score, "raw": v.raw, "parse": v.parse}, ensure_ascii=False), encoding="utf-8"
        )
        tmp.replace(path)  # atomic: concurrent trials may judge the same answer


def grade(
    items: list[Item],
    call: Callable[[list[dict]], str],
    *,
    identity: str,
    cache: JudgmentCache | None,
    language: str,
    with_reference: bool,
    attempts: int,
    backoff_s: float,
    desc: str,
) -> list[Verdict]:
    out = []
    for item in tqdm(items, desc=desc, unit="answer", leave=False):
        key = JudgmentCache.key(identity, item) if cache else None
        hit = cache.get(key) if cache else None
        if hit is not None:
            out.append(hit)
            continue
        v = _grade_one(item, call, language, with_reference, attempts, backoff_s)
        if cache and v.score is not None:
            cache.put(key, v)
        out.append(v)
    return out


def _grade_one(item: Item, call, language: str, with_reference: bool, attempts: int, backoff_s: float) -> Verdict:
    messages = grading_messages(item.prompt, item.answer, item.reference if with_reference else None, language)
    reason, raw = "not attempted", ""
    start = time.monotonic()
    for attempt in range(1, max(1, attempts) + 1):
        if attempt > 1:
            time.sleep(backoff_s * 2 ** (attempt - 2))
        try:
            raw = call(messages)
        except JudgeCallError as e:
            reason = str(e)
            log.warning("judge call failed (attempt %d/%d): %s", attempt, attempts, reason)
            continue
        score, how = parse_rating(raw)
        if score is not None:
            return Verdict(score, raw, time.monotonic() - start, parse=how, attempts=attempt)
        reason = how
    return Verdict(None, raw, time.monotonic() - start, missing=reason, attempts=attempt)


def missing_reasons(records: list[dict]) -> str:
    """The distinct reasons of unscored judgment records, counted, most common first: '2× timeout after 60s; …'."""
    counts = Counter(r.get("missing") or "no reason recorded" for r in records if r.get("score") is None)
    return "; ".join(f"{n}× {reason}" for reason, n in counts.most_common())


def check_scored(name: str, records: list[dict], where: Path | None = None) -> None:
    """Refuse a judging that scored nothing (its reasons, counted); warn on stderr when some are unscored."""
    scored = sum(r.get("score") is not None for r in records)
    if records and not scored:
        kept = f"each answer's reason is in {where}; " if where else ""
        raise UserError(
            f"judge={name} scored none of the {len(records)} answers: {missing_reasons(records)}. "
            f"Fix: {kept}remove the cause and run the same command again."
        )
    if scored < len(records):
        print(
            f"warning: judge={name} left {len(records) - scored} of {len(records)} answers unscored: "
            f"{missing_reasons(records)}",
            file=sys.stderr,
        )
