"""A local transformers causal LM as the judge (`model_path`: a run dir, a merge output or a saved model).

Loaded with the serving engine's loader (LoRA adapter on its base, or a full model) and decoded greedily.
"""

from __future__ import annotations

import os

from llmsweep.judging.grading import JudgmentCache, grade
from llmsweep.judging.rubric import RUBRIC_VERSION
from llmsweep.judging.verdict import Item, JudgeCallError, Verdict


class HFJudge:
    def __init__(
        self,
        model_path: str,
        language: str = "en",
        with_reference: bool = True,
        max_new_tokens: int = 256,
        attempts: int = 1,
        backoff_s: float = 0.0,
        device: str = "auto",
        dtype: str = "auto",
        cache_dir: str | None = None,
    ):
        from llmsweep.judging.build import check_language
        from llmsweep.serving.engine import load_transformers_engine, model_dir_of

        self.language = check_language(language)
        model_dir = model_dir_of(model_path)
        self.engine = load_transformers_engine(model_dir, dtype=dtype, device=device)
        self.with_reference, self.max_new_tokens = with_reference, max_new_tokens
        self.attempts, self.backoff_s = attempts, backoff_s
        self.identity = f"hf|{model_dir.resolve()}|{language}|ref={with_reference}|max_new_tokens={max_new_tokens}|rubric{RUBRIC_VERSION}"
        self.cache = JudgmentCache(os.path.join(cache_dir, "judgments")) if cache_dir else None

    def call(self, messages: list[dict]) -> str:
        from llmsweep.serving.engine import SamplingParams

        try:
            return self.engine.complete(messages, SamplingParams(max_tokens=self.max_new_tokens, temperature=0)).text
        except RuntimeError as e:  # out of memory, a prompt longer than the context
            raise JudgeCallError(f"generation failed: {e}") from None

    def judge(self, items: list[Item]) -> list[Verdict]:
        return grade(
            items,
            self.call,
            identity=self.identity,
            cache=self.cache,
            language=self.language,
            with_reference=self.with_reference,
            attempts=self.attempts,
            backoff_s=self.backoff_s,
            desc="judging with a local model",
        )
