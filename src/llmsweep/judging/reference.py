"""A judge without a model: chrF (sacrebleu) of the answer against the reference response, mapped onto 1–5.

Mapping (chrF is 0–100): the score is 1 + the number of `bins` edges the chrF reaches. With the default
edges [20, 40, 60, 80]: chrF < 20 -> 1, 20–40 -> 2, 40–60 -> 3, 60–80 -> 4, >= 80 -> 5.
chrF works on character n-grams, so it needs no Korean word segmentation.
"""

from __future__ import annotations

import bisect
import time

from llmsweep.errors import UserError
from llmsweep.judging.verdict import Item, Verdict


class ReferenceJudge:
    def __init__(self, bins=(20.0, 40.0, 60.0, 80.0), char_order: int = 6, word_order: int = 0):
        from sacrebleu.metrics import CHRF

        self.bins = [float(b) for b in bins]
        if len(self.bins) != 4 or self.bins != sorted(self.bins) or not all(0 < b <= 100 for b in self.bins):
            raise UserError(
                f"judge.bins={list(bins)}: need 4 increasing chrF edges in (0, 100] (they split 0–100 into scores 1..5)"
            )
        self.chrf = CHRF(char_order=char_order, word_order=word_order)

    def judge(self, items: list[Item]) -> list[Verdict]:
        out = []
        for item in items:
            start = time.monotonic()
            if not (item.reference or "").strip():
                out.append(Verdict(None, missing="no reference response to compare with"))
                continue
            chrf = self.chrf.sentence_score(item.answer, [item.reference]).score
            score = 1 + bisect.bisect_right(self.bins, chrf)
            out.append(Verdict(score, f"chrF={chrf:.2f}", time.monotonic() - start, attempts=1))
        return out
