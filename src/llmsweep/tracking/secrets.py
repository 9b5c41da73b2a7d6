"""Secrets live in the environment only; anything logged passes through `redact` first."""

from __future__ import annotations

import os
import re
from typing import Any

SECRET_NAME = re.compile(r"(API_KEY|TOKEN|SECRET|PASSWORD)$")


def secret_values() -> list[str]:
    return [v for k, v in os.environ.items() if SECRET_NAME.search(k) and len(v) >= 6]


def redact(obj: Any, secrets: list[str] | None = None) -> Any:
    """Copy of a JSON-like object with every environment secret replaced by '***'."""
    secrets = secret_values() if secrets is None else secrets
    if isinstance(obj, str):
        for s in secrets:
            obj = obj.replace(s, "***")
        return obj
    if isinstance(obj, dict):
        return {k: redact(v, secrets) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [redact(v, secrets) for v in obj]
    return obj
