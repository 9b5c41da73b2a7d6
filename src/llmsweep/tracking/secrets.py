"""Secrets live in the environment only; nothing a run or a sweep writes may carry one.

A secret is:
- the value of an environment variable whose name looks secret (ends in API_KEY, ACCESS_KEY, TOKEN, SECRET,
  PASSWORD);
- the value of a config key or command-line override whose last part looks secret the same way (`judge.api_key=...`,
  `trainer.hub_token=...`, `+hydra.job.env_set.MY_TOKEN=...`; a tokenizer's `pad_token`, `eos_token`... are not);
- the password of a URL (`postgresql://user:PASSWORD@host/db`) anywhere: found by its pattern, whatever its source.

`redact` replaces them with `***` in what is written: names, tags, config, summaries, log records (`guard_logging`,
which covers the console, `train.log` and wandb's `debug.log`) and the command line wandb records (`redacted_argv`).
The process's own command line and environment are read on each call; a run adds its config's secrets with
`remember`. Hydra's own record of the command line (`.hydra/`, `multirun.yaml`) is outside this guard: README.md
says how to keep secrets out of it (`${oc.env:VAR}`).
"""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

MASK = "***"
SECRET_KEY = re.compile(r"(api_?key|access_?key|token|secret|password|passwd)$", re.IGNORECASE)
SPECIAL_TOKEN = re.compile(r"(pad|eos|bos|unk|sep|cls|mask)_token$", re.IGNORECASE)  # a tokenizer's, not a secret
# scheme://user:PASSWORD@host: the password is everything between the user's colon and the @ before the host
URL_PASSWORD = re.compile(
    r"(?P<head>\b[a-z][a-z0-9+.-]*://[^\s:/?#@'\"]*:)(?P<password>[^\s@/'\"]+)(?=@)", re.IGNORECASE
)
MIN_LENGTH = 6  # shorter values (true, 1234) are too common to replace wherever they occur

_remembered: set[str] = set()
_guarded = False


def looks_secret(key: str) -> bool:
    """A config key, override key or variable name whose value is a secret (its last dotted part decides)."""
    last = str(key).lstrip("+~").rsplit(".", 1)[-1]
    return bool(SECRET_KEY.search(last)) and not SPECIAL_TOKEN.search(last)


def url_passwords(text: str) -> list[str]:
    return [m.group("password") for m in URL_PASSWORD.finditer(text)]


def override_secrets(overrides: Iterable[str]) -> list[str]:
    """Secrets given on a command line: values of secret-looking keys (`key=value`), and URL passwords."""
    found = []
    for arg in overrides:
        key, eq, value = str(arg).partition("=")
        if eq and looks_secret(key):
            found.append(value.strip("'\""))
        found += url_passwords(str(arg))
    return found


def config_secrets(obj: Any, key: str = "") -> list[str]:
    """Secrets in a JSON-like config: string values of secret-looking keys, and URL passwords in any string."""
    if isinstance(obj, dict):
        return [s for k, v in obj.items() for s in config_secrets(v, str(k))]
    if isinstance(obj, (list, tuple)):
        return [s for v in obj for s in config_secrets(v, key)]
    if isinstance(obj, str):
        return ([obj] if looks_secret(key) else []) + url_passwords(obj)
    return []


def remember(values: Iterable[str]) -> None:
    """Secrets this process must redact from now on (a run's config and overrides)."""
    _remembered.update(v for v in values if v)


def protect(config: Any, overrides: Iterable[str]) -> None:
    """From now on, this process redacts the secrets of a run's config (a JSON-like container) and overrides from
    what it logs and tracks."""
    remember(config_secrets(config) + override_secrets(overrides))
    guard_logging()


def secret_values() -> list[str]:
    """Every known secret value of this process, longest first (a secret containing another is replaced whole)."""
    env = [v for k, v in os.environ.items() if looks_secret(k)]
    env += [p for v in os.environ.values() for p in url_passwords(v)]
    values = {v for v in (*env, *_remembered, *override_secrets(sys.argv[1:])) if len(v) >= MIN_LENGTH}
    return sorted(values, key=len, reverse=True)


def redact(obj: Any, secrets: list[str] | None = None) -> Any:
    """Copy of a JSON-like object with every secret replaced by '***': known values, URL passwords, and the values
    of secret-looking keys."""
    secrets = secret_values() if secrets is None else secrets
    if isinstance(obj, str):
        for s in secrets:
            obj = obj.replace(s, MASK)
        return URL_PASSWORD.sub(lambda m: m.group("head") + MASK, obj)
    if isinstance(obj, dict):
        return {
            k: MASK if looks_secret(str(k)) and isinstance(v, str) and v else redact(v, secrets) for k, v in obj.items()
        }
    if isinstance(obj, (list, tuple)):
        return [redact(v, secrets) for v in obj]
    return obj


def redact_argv(argv: list[str], secrets: list[str] | None = None) -> list[str]:
    """A command line with each secret-looking override's value and every secret masked."""
    out = []
    for arg in argv:
        key, eq, value = arg.partition("=")
        out.append(f"{key}={MASK}" if eq and value and looks_secret(key) else redact(arg, secrets))
    return out


@contextmanager
def redacted_argv() -> Iterator[None]:
    """sys.argv masked meanwhile: wandb records the program's arguments in the run's metadata when it starts."""
    saved = sys.argv[:]
    sys.argv[:] = redact_argv(saved)
    try:
        yield
    finally:
        sys.argv[:] = saved


def guard_logging() -> None:
    """Redact every log record this process makes from now on, whichever handler writes it (console, train.log,
    wandb's debug.log): a record factory sees each record once, before any handler, and survives Hydra
    reconfiguring the handlers for each job."""
    global _guarded
    if _guarded:
        return
    _guarded = True
    make = logging.getLogRecordFactory()

    def factory(*args, **kwargs):
        record = make(*args, **kwargs)
        secrets = secret_values()
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: logging reports it itself
            return record
        clean = redact(message, secrets)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and record.exc_info[1] is not None:  # a traceback's text is formatted once, from here
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info), secrets)
        return record

    logging.setLogRecordFactory(factory)
