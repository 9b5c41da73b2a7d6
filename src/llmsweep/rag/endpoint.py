"""An OpenAI-compatible chat endpoint (serve.py, vLLM's server, a hosted API) asked for one reply per prompt.

- The key comes from the environment variable named by `api_key_env`; it is never written anywhere (not in the
  cache key, the outputs or the summary).
- Bounded retries with backoff are the `openai` client's own (`max_retries`: exponential backoff from 0.5 s on
  timeouts, connection errors, 408/409/429 and 5xx). A 4xx that retrying cannot fix (wrong model, key, route)
  is a UserError at once: every chunk would fail the same way.
- Replies are cached on disk, one file per (endpoint, model, prompt version, prompt) hash, so a re-run asks
  only for what it has not got (a failed call is not cached).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

from llmsweep.errors import UserError


class EndpointError(Exception):
    """A call that failed after its retries (timeout, 5xx, connection, a body that is not a chat completion)."""


class ChatEndpoint:
    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key_env: str | None = "OPENAI_API_KEY",
        timeout_s: float = 60.0,
        attempts: int = 3,
        max_tokens: int = 512,
        temperature: float = 0.0,
        cache_dir: str | Path | None = None,
        prompt_version: str = "",
    ):
        import openai

        if attempts < 1:
            raise UserError(f"--attempts {attempts}: must be at least 1")
        key = os.environ.get(api_key_env) if api_key_env else None
        self.client = openai.OpenAI(
            base_url=base_url, api_key=key or "none", timeout=timeout_s, max_retries=attempts - 1
        )
        self.base_url, self.model = base_url, model
        self.max_tokens, self.temperature = max_tokens, temperature
        self.identity = json.dumps([base_url.rstrip("/"), model, prompt_version, max_tokens, temperature])
        self.cache = Path(cache_dir).expanduser() / "rag-make-data" if cache_dir else None

    def _path(self, messages: list[dict]) -> Path | None:
        if self.cache is None:
            return None
        key = hashlib.sha256((self.identity + json.dumps(messages, ensure_ascii=False)).encode()).hexdigest()
        return self.cache / key[:2] / f"{key}.json"

    def cached(self, messages: list[dict]) -> str | None:
        path = self._path(messages)
        if path is None or not path.is_file():
            return None
        try:
            return json.loads(path.read_text(encoding="utf-8"))["reply"]
        except (OSError, ValueError, KeyError, TypeError):
            return None  # a torn file: ask again

    def remember(self, messages: list[dict], reply: str) -> None:
        path = self._path(messages)
        if path is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp{os.getpid()}.{time.monotonic_ns()}")
        tmp.write_text(json.dumps({"reply": reply}, ensure_ascii=False), encoding="utf-8")
        tmp.replace(path)

    def ask(self, messages: list[dict]) -> str:
        """The reply's text; EndpointError after the retries; UserError for a request the endpoint refuses."""
        import openai

        try:
            resp = self.client.chat.completions.create(
                model=self.model, messages=messages, max_tokens=self.max_tokens, temperature=self.temperature
            )
        except openai.APITimeoutError:
            raise EndpointError(f"timeout after {self.client.timeout}s") from None
        except openai.APIConnectionError as e:
            cause = f" ({_short(str(e.__cause__))})" if e.__cause__ else ""
            raise EndpointError(f"cannot reach {self.base_url}{cause}") from None
        except openai.APIStatusError as e:
            if e.status_code in (400, 401, 403, 404):
                raise UserError(
                    f"endpoint {self.base_url} refused the request (HTTP {e.status_code}: "
                    f"{_short(e.message)}): check --model, --base-url and --api-key-env"
                ) from None
            raise EndpointError(f"HTTP {e.status_code}: {_short(e.message)}") from None
        except openai.APIError as e:
            raise EndpointError(f"{type(e).__name__}: {_short(str(e))}") from None
        try:
            text = resp.choices[0].message.content
        except (AttributeError, IndexError, TypeError):
            raise EndpointError(f"malformed response (no choices[0].message.content): {_short(str(resp))}") from None
        if not isinstance(text, str):
            raise EndpointError("malformed response: message.content is not text")
        return text


def _short(s: str, n: int = 200) -> str:
    s = " ".join(s.split())
    return s if len(s) <= n else s[:n] + "…"
