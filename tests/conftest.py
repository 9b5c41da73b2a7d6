"""Shared fixtures: the real CLI in a subprocess, on a per-session cache of tiny base models."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CONF_DIR = str(REPO / "conf")
# Values that must never appear in anything a run writes (the runs get them in their environment).
SECRETS = {"HF_TOKEN": "hf_testSECRETc0ffee", "WANDB_API_KEY": "wandbSECRETdeadbeef0123456789abcdef01234567"}


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory) -> Path:
    """Tiny bases are built once per test session (a fresh machine builds them the same way)."""
    return tmp_path_factory.mktemp("llmsweep-cache")


def cli_env(cache_dir: Path, **extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WANDB_", "HF_", "LLMSWEEP_"))}
    env.update(LLMSWEEP_CACHE_DIR=str(cache_dir), WANDB_MODE="offline", HF_HUB_OFFLINE="1", PYTHONUNBUFFERED="1")
    env.update(extra)
    return env


def run_cli(cache_dir: Path, *args: str, out: Path | None = None, env: dict | None = None, check: bool = True, timeout: int = 600):
    """`python train.py ARGS` from the repo root; with `out`, the run (or sweep) dir is pinned there."""
    argv = [sys.executable, "train.py", *args]
    if out is not None:
        key = "hydra.sweep.dir" if "-m" in args else "hydra.run.dir"
        argv.append(f"{key}={out}")
    proc = subprocess.run(argv, cwd=REPO, env=env or cli_env(cache_dir), capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(argv)} exited {proc.returncode}\n--- stdout\n{proc.stdout[-3000:]}\n--- stderr\n{proc.stderr[-6000:]}")
    return proc


def read_metrics(run_dir: Path) -> dict:
    return json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
