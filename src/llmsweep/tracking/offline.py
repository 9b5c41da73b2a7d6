"""Read an offline W&B run back (wandb 0.31 keeps config, history and summary only inside
`run-<id>.wandb`), through wandb's own reader: `wandb leet inspect`."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path


def _wandb(*args: str) -> str:
    exe = shutil.which("wandb", path=str(Path(sys.executable).parent)) or shutil.which("wandb")
    return subprocess.run([exe, "leet", "inspect", *args], check=True, capture_output=True, text=True).stdout


def offline_runs(run_dir: str | Path) -> list[Path]:
    """The offline-run-* directories a job wrote under <run dir>/wandb."""
    return sorted(Path(run_dir).glob("wandb/offline-run-*"))


def read_run(path: str | Path) -> dict:
    """{"run": {display_name, run_group, job_type, ...}, "state", "summary", "config", "history": [...]}"""
    summary = json.loads(_wandb("--summary", "--json", str(path)))
    out = {
        "state": summary.get("state"),
        "summary": summary.get("summary", {}),
        "config": summary.get("config", {}),
        "history": [],
    }
    for line in _wandb("--json", str(path)).splitlines():
        rec = json.loads(line)
        if rec["type"] == "run":
            out["run"] = {k: v for k, v in rec["run"].items() if k != "config"}
        elif rec["type"] == "history":
            out["history"].append(rec["history"]["item"])
    return out
