"""Judging as a stage of a run: answers.jsonl -> judgments.jsonl, metrics (judge_mean, ...) and W&B."""

from __future__ import annotations

import json
import logging
import math
import statistics
from pathlib import Path
from typing import Optional

from omegaconf import DictConfig

from llmsweep.errors import UserError
from llmsweep.judging.build import build_judge
from llmsweep.judging.verdict import Item

log = logging.getLogger(__name__)

WHICH = {"tuned": "tuned_answer", "base": "base_answer"}


def judge_answers(judge, name: str, answers: list[dict], judge_base: bool = True) -> list[dict]:
    """One judgment record per (answer row, base|tuned): what judgments.jsonl holds."""
    which = ["tuned", "base"] if judge_base else ["tuned"]
    pairs = [(w, a) for w in which for a in answers]
    verdicts = judge.judge([Item(a["prompt"], a[WHICH[w]], a.get("reference")) for w, a in pairs])
    return [
        {"which": w, "prompt": a["prompt"], "answer": a[WHICH[w]], "reference": a.get("reference"),
         "judge": name, "score": v.score, "missing": v.missing, "raw": v.raw, "parse": v.parse,
         "latency_s": round(v.latency_s, 4), "attempts": v.attempts, "cached": v.cached}
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
    with open(path, "w", encoding="utf-8") as f:
        f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in records)


def judge_run(cfg: DictConfig, run_dir: Path, answers: list[dict], wb=None) -> dict:
    """The run's judge over its answers: judgments.jsonl, W&B table/histogram/summary; returns the
    metrics to merge into metrics.json ({} with judge=none)."""
    judge_cfg = cfg.get("judge")
    try:
        judge = build_judge(judge_cfg)
    except UserError as e:  # after training: say how to score the saved answers once the config is fixed
        raise UserError(f"{e}\nThe model and answers.jsonl are saved in {run_dir}; score them with "
                        f"`python -m llmsweep.judging rejudge run_dir={run_dir} judge=...`.") from None
    if judge is None:
        return {}
    name = str(judge_cfg.get("name"))
    # a merge has no base answer: only its own answers are judged
    judge_base = bool(judge_cfg.get("judge_base", True)) and all("base_answer" in a for a in answers)
    records = judge_answers(judge, name, answers, judge_base)
    write_judgments(Path(run_dir) / "judgments.jsonl", records)
    metrics = score_metrics(records)
    for r in records:
        if r["missing"]:
            log.warning("judge=%s: no score for a %s answer: %s", name, r["which"], r["missing"])
    log.info("judge=%s: mean %.3f over %d answers, %d missing", name, metrics.get("judge_mean", math.nan),
             metrics.get("judge_count", 0), metrics.get("judge_missing", 0))
    log_to_wandb(wb, answers, records, metrics)
    return metrics


def log_to_wandb(wb, answers: list[dict], records: list[dict], metrics: dict) -> None:
    """Side-by-side Table (prompt, base/tuned answer and score), score histograms, judge/* summary."""
    if wb is None:
        return
    import numpy as np
    import wandb

    score = {(r["which"], r["prompt"], r["answer"]): r["score"] for r in records}
    table = wandb.Table(columns=["prompt", "base_answer", "tuned_answer", "base_score", "tuned_score"])
    for a in answers:
        base = a.get("base_answer")
        table.add_data(a["prompt"], base, a["tuned_answer"],
                       score.get(("base", a["prompt"], base)), score.get(("tuned", a["prompt"], a["tuned_answer"])))
    logged: dict = {"judge/table": table}
    edges = np.arange(0.5, 6.0, 1.0)  # one bin per score 1..5
    for which in ("tuned", "base"):
        scores = [r["score"] for r in records if r["which"] == which and r["score"] is not None]
        if scores:
            key = "judge/scores" if which == "tuned" else "judge/base_scores"
            logged[key] = wandb.Histogram(np_histogram=np.histogram(scores, bins=edges))
    wb.log(logged)
    for k, v in metrics.items():
        wb.summary[k.replace("judge_base_", "judge/base_").replace("judge_", "judge/")] = v


def judgments_path(run_dir: Path, name: Optional[str] = None) -> Path:
    """The run's own judgments.jsonl, or judgments.<name>.jsonl for a re-judging."""
    return Path(run_dir) / ("judgments.jsonl" if name is None else f"judgments.{name}.jsonl")
