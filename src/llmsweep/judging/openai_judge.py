"""Any OpenAI-compatible chat endpoint (vLLM, FastChat, serve.py, OpenAI) as the judge.

The API key is read from the environment variable named by `api_key_env` when the judge is built; the
config holds only the variable's name. Decoding is greedy (temperature 0) so a cached judgment is the
judgment the endpoint would give again.
"""

from __future__ import annotations

import logging
import os

from llmsweep.judging.grading import JudgmentCache, grade
from llmsweep.judging.rubric import RUBRIC_VERSION
from llmsweep.judging.verdict import Item, JudgeCallError, Verdict

log = logging.getLogger(__name__)


class OpenAIJudge:
    def __init__(
        self,
        base_url: str,
        model: str,
        api_key_env: str | None = "OPENAI_API_KEY",
        language: str = "en",
        with_reference: bool = True,
        max_tokens: int = 512,
        timeout_s: float = 60.0,
        attempts: int = 3,
        backoff_s: float = 1.0,
        cache_dir: str | None = None,
    ):
        import openai

        from llmsweep.judging.build import check_language

        self.language = check_language(language)
        key = os.environ.get(api_key_env) if api_key_env else None
        if api_key_env and not key:
            log.warning(
                "judge.api_key_env=%s is not set in the environment; calling %s without a key", api_key_env, base_url
            )
        # our own bounded retries (they also cover unparsable replies), so the client's are off
        self.client = openai.OpenAI(base_url=base_url, api_key=key or "none", timeout=timeout_s, max_retries=0)
        self.model, self.with_reference, self.max_tokens = model, with_reference, max_tokens
        self.attempts, self.backoff_s = attempts, backoff_s
        self.identity = (
            f"openai|{base_url}|{model}|{language}|ref={with_reference}|max_tokens={max_tokens}|rubric{RUBRIC_VERSION}"
        )
        self.cache = JudgmentCache(os.path.join(cache_dir, "judgments")) if cache_dir else None

    def call(self, messages: list[dict]) -> str:
        import openai

        try:
            resp = self.client.chat.completions.create(
                model=self.model, messages=messages, temperature=0, max_tokens=self.max_tokens
            )
        except openai.APITimeoutError:
            raise JudgeCallError(f"timeout after {self.client.timeout}s") from None
        except openai.APIConnectionError as e:  # "Connection error." alone: say which endpoint and why
            cause = f" ({_short(str(e.__cause__))})" if e.__cause__ else ""
            raise JudgeCallError(f"{type(e).__name__}: cannot reach {self.client.base_url}{cause}") from None
        except openai.APIStatusError as e:
            raise JudgeCallError(f"HTTP {e.status_code}: {_short(e.message)}") from None
        except openai.APIError as e:  # bodies that are not the chat format
            raise JudgeCallError(f"{type(e).__name__}: {_short(str(e))}") from None
        try:
            text = resp.choices[0].message.content
        except (AttributeError, IndexError, TypeError):
            raise JudgeCallError(f"malformed response (no choices[0].message.content): {_short(str(resp))}") from None
        if not isinstance(text, str):
            raise JudgeCallError("malformed response: message.content is not text")
        return text

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
            desc=f"judging with {self.model}",
        )


def _short(s: str, n: int = 200) -> str:
    s = " ".join(s.split())
    return s if len(s) <= n else s[:n] + "…"
