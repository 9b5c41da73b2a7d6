"""Judging as a stage of a run: answers -> judgments.jsonl and metrics (judge_mean, ...); the run harness hands
the scores to the tracker."""

from __future__ import annotations

import logging
import math
import statistics
from dataclasses import dataclass, field
from pathlib import Path

from omegaconf import DictConfig

from llmsweep.errors import UserError
from llmsweep.jsonl import write_jsonl
from llmsweep.judging.build import build_judge
from llmsweep.judging.verdict import Item

log = logging.getLogger(__name__)

ANSWER_FIELDS = {"tuned": "tuned_answer", "base": "base_answer"}  # judgment "which" -> answers.jsonl column


@dataclass
class Judged:
    """A run's judge stage: one record per judged answer (judgments.jsonl) and the metrics they give."""

    records: list[dict] = field(default_factory=list)
    metrics: dict = field(default_factory=dict)

    def scores(self, answers: list[dict], fields: dict[str, str]) -> dict[str, list]:
        """answer column -> the score of each answer row (None where unjudged), for the tracker's table."""
        by = {(r["which"], r["prompt"], r["answer"]): r["score"] for r in self.records}
        judged = {r["which"] for r in self.records}
        return {
            col: [by.get((which, a["prompt"], a.get(col))) for a in answers]
            for which, col in fields.items()
            if which in judged
        }


def judge_answers(
    judge, name: str, answers: list[dict], judge_base: bool = True, fields: dict[str, str] = ANSWER_FIELDS
) -> list[dict]:
    """One judgment record per (answer row, judged column): what judgments.jsonl holds. `fields` maps each
    judged answer ("tuned", "base") to its answers.jsonl column; "base" only with `judge_base`."""
    which = [w for w in fields if w != "base" or judge_base]
    pairs = [(w, a) for w in which for a in answers]
    verdicts = judge.judge([Item(a["prompt"], a[fields[w]], a.get("reference")) for w, a in pairs])
    return [
        {
            "which": w,
            "prompt": a["prompt"],
            "answer": a[fields[w]],
            "reference": a.get("reference"),
            "judge": name,
            "score": v.score,
            "missing": v.missing,
            "raw": v.raw,
            "parse": v.parse,
            "latency_s": round(v.latency_s, 4),
            "attempts": v.attempts,
            "cached": v.cached,
        }
        for (w, a), v in zip(pairs, verdicts)
    ]


def score_metrics(records: list[dict]) -> dict:
    """judge_mean/std/missing over the tuned answers, judge_base_* over the base ones (population std;
    NaN when nothing was scored, so a sweep fails such a trial instead of ranking it)."""
    out = {}
    for which, prefix in (("tuned", "judge"), ("base", "judge_base")):
        rows = [r for r in records if r["which"] == which]
        if not rows:
            continue
        scores = [r["score"] for r in rows if r["score"] is not None]
        out[f"{prefix}_mean"] = statistics.fmean(scores) if scores else math.nan
        out[f"{prefix}_std"] = statistics.pstdev(scores) if scores else math.nan
        out[f"{prefix}_missing"] = len(rows) - len(scores)
        out[f"{prefix}_count"] = len(scores)
    return out


def write_judgments(path: Path, records: list[dict]) -> None:
    write_jsonl(path, records)


def judge_run(cfg: DictConfig, run_dir: Path, answers: list[dict], fields: dict[str, str] = ANSWER_FIELDS) -> Judged:
    """The run's judge over its answers: writes judgments.jsonl; returns the records and the metrics to merge
    into metrics.json (nothing with judge=none). Fields absent from the answers are not judged (a merge has no
    base answer)."""
    judge_cfg = cfg.get("judge")
    try:
        judge = build_judge(judge_cfg)
    except UserError as e:  # after training: say how to score the saved answers once the config is fixed
        raise UserError(
            f"{e}\nThe model and answers.jsonl are saved in {run_dir}; score them with "
            f"`python -m llmsweep.judging rejudge run_dir={run_dir} judge=...`."
        ) from None
    if judge is None:
        return Judged()
    name = str(judge_cfg.get("name"))
    fields = {w: col for w, col in fields.items() if all(col in a for a in answers)}
    records = judge_answers(judge, name, answers, bool(judge_cfg.get("judge_base", True)), fields)
    write_judgments(Path(run_dir) / "judgments.jsonl", records)
    metrics = score_metrics(records)
    for r in records:
        if r["missing"]:
            log.warning("judge=%s: no score for a %s answer: %s", name, r["which"], r["missing"])
    log.info(
        "judge=%s: mean %.3f over %d answers, %d missing",
        name,
        metrics.get("judge_mean", math.nan),
        metrics.get("judge_count", 0),
        metrics.get("judge_missing", 0),
    )
    return Judged(records, metrics)


def judgments_path(run_dir: Path, name: str | None = None) -> Path:
    """The run's own judgments.jsonl, or judgments.<name>.jsonl for a re-judging."""
    return Path(run_dir) / ("judgments.jsonl" if name is None else f"judgments.{name}.jsonl")
