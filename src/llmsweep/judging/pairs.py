"""Preference pairs for DPO from judged answers of several runs to the same prompts.

Each prompt's tuned answers (one per run) with their judge scores become a row of the data pipeline's
`judged` source ({"prompt", "answers": [{"model", "text", "score"}]}); `llmsweep.data.prepare` then writes
the prompt/chosen/rejected records with its usual validation and accounting (ties, missing scores and
identical answers land in the rejects file with their reason).
"""

from __future__ import annotations

import json
from pathlib import Path

from llmsweep.errors import UserError


def judged_rows(judgments_by_run: dict[str, list[dict]]) -> list[dict]:
    """{run name: tuned-answer judgment records} -> `judged` source rows, prompts in first-run order."""
    by_prompt: dict[str, list[dict]] = {}
    for run, records in judgments_by_run.items():
        for r in records:
            if r["which"] == "tuned":
                by_prompt.setdefault(r["prompt"], []).append({"model": run, "text": r["answer"], "score": r["score"]})
    return [{"prompt": p, "answers": answers} for p, answers in by_prompt.items()]


def write_pairs(judgments_by_run: dict[str, list[dict]], out: str | Path, conversational: bool = False) -> dict:
    """Pairs into `out` (+ `out`.rejects.jsonl, `out`.summary.json); returns the pipeline's summary."""
    from llmsweep.data.prepare import prepare
    from llmsweep.data.sources import Options

    if len(judgments_by_run) < 2:
        raise UserError("pairs need the answers of at least two runs")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    rows_path = out.with_name(out.name + ".judged.jsonl")
    with open(rows_path, "w", encoding="utf-8") as f:
        f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in judged_rows(judgments_by_run))
    return prepare("judged", [str(rows_path)], out, Options(conversational=conversational), workers=1)
