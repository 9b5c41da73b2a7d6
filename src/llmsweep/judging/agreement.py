"""How far two sets of 1–5 scores of the same answers agree: Spearman's rho (scipy) and quadratic-weighted
Cohen's kappa (scikit-learn) over the answers both scored."""

from __future__ import annotations

import math


def scores_by_answer(records: list[dict]) -> dict[tuple[str, str], int]:
    """{(prompt, answer): score} of judgment records, missing ones left out."""
    return {(r["prompt"].strip(), r["answer"].strip()): int(r["score"]) for r in records if r.get("score") is not None}


def agreement(a: dict[tuple[str, str], int], b: dict[tuple[str, str], int]) -> dict:
    """{"n", "spearman", "kappa_quadratic"} over the keys both have (NaN when undefined: fewer than 2
    answers, or one side gave every answer the same score)."""
    from scipy.stats import spearmanr
    from sklearn.metrics import cohen_kappa_score

    keys = sorted(a.keys() & b.keys())
    x, y = [a[k] for k in keys], [b[k] for k in keys]
    out = {"n": len(keys), "spearman": math.nan, "kappa_quadratic": math.nan}
    if len(keys) < 2:
        return out
    if len(set(x)) > 1 and len(set(y)) > 1:
        out["spearman"] = float(spearmanr(x, y).statistic)
    # labels fixed to 1..5: the quadratic weights are (i - j)^2 on the scale itself, not on the scores seen
    kappa = cohen_kappa_score(x, y, labels=[1, 2, 3, 4, 5], weights="quadratic")
    out["kappa_quadratic"] = float(kappa) if math.isfinite(kappa) else math.nan
    return out
