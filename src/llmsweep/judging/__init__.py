"""Judged 1–5 quality scores of a run's answers: reference (chrF), LLM judges (OpenAI-compatible, local
transformers), human ratings; agreement statistics; preference pairs for DPO."""

from llmsweep.judging.stage import judge_run

__all__ = ["judge_run"]
