"""Helpers the tests share: the real CLI in a subprocess, composed configs, reading a run's outputs, requiring
the real components (SLURM, PostgreSQL) and a real chat server. Fixtures live in conftest.py."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from llmsweep.tracking.offline import offline_runs

REPO = Path(__file__).resolve().parents[1]
CONF_DIR = str(REPO / "conf")
# Values that must never appear in anything a run writes (the runs get them in their environment).
SECRETS = {"HF_TOKEN": "hf_testSECRETc0ffee", "WANDB_API_KEY": "wandbSECRETdeadbeef0123456789abcdef01234567"}


def cli_env(cache_dir: Path, **extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WANDB_", "HF_", "LLMSWEEP_"))}
    env.update(LLMSWEEP_CACHE_DIR=str(cache_dir), WANDB_MODE="offline", HF_HUB_OFFLINE="1", PYTHONUNBUFFERED="1")
    env.update(extra)
    return env


def run_cli(
    cache_dir: Path,
    *args: str,
    out: Path | None = None,
    env: dict | None = None,
    check: bool = True,
    timeout: int = 600,
):
    """`python train.py ARGS` from the repo root; with `out`, the run (or sweep) dir is pinned there."""
    argv = [sys.executable, "train.py", *args]
    if out is not None:
        key = "hydra.sweep.dir" if "-m" in args else "hydra.run.dir"
        argv.append(f"{key}={out}")
    proc = subprocess.run(
        argv, cwd=REPO, env=env or cli_env(cache_dir), capture_output=True, text=True, timeout=timeout
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"{' '.join(argv)} exited {proc.returncode}\n--- stdout\n{proc.stdout[-3000:]}\n--- stderr\n{proc.stderr[-6000:]}"
        )
    return proc


def composed(*overrides: str):
    """The composed training config, as `python train.py OVERRIDES` would see it (no run)."""
    from hydra import compose, initialize_config_dir

    from llmsweep.config import register_configs

    register_configs()
    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        return compose("train", overrides=list(overrides))


def read_metrics(run_dir: Path) -> dict:
    return json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def require(what: str, env: str, reason: str):
    """Skip with a reason on a machine without `what`; fail instead where `env`=1 (CI installs it)."""
    if os.environ.get(env) == "1":
        pytest.fail(f"{what} is required here ({env}=1) but {reason}")
    pytest.skip(f"{what} not available: {reason}")


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ChatServer:
    """A running `serve.py`: `base_url` for the openai client (…/v1), `model` to ask for, its `log` file."""

    def __init__(self, base_url: str, model: str, token: str | None, log: Path, proc: subprocess.Popen):
        self.base_url, self.model, self.token, self.log, self.proc = base_url, model, token, log, proc

    def client(self, **kwargs):
        import openai

        return openai.OpenAI(base_url=self.base_url, api_key=self.token or "none", max_retries=0, **kwargs)


@contextmanager
def chat_server(
    run_dir: Path, *overrides: str, token: str | None = None, env: dict | None = None, startup_timeout: float = 180
):
    """`python serve.py run_dir=RUN` on a free loopback port for the duration of the block (a real
    uvicorn server in a subprocess). Reusable as a judge backend: `judge.base_url=server.base_url`."""
    import tempfile

    env = dict(os.environ if env is None else env, HF_HUB_OFFLINE="1", PYTHONUNBUFFERED="1")
    env.pop("LLMSWEEP_API_TOKEN", None)
    if token is not None:
        env["LLMSWEEP_API_TOKEN"] = token
    port = free_port()
    log = Path(tempfile.mkstemp(prefix="llmsweep-serve-", suffix=".log")[1])
    named = [o.split("=", 1)[1] for o in overrides if o.startswith("model_name=")]
    model = named[-1] if named else "tiny-chat"
    argv = [
        sys.executable,
        "serve.py",
        f"run_dir={run_dir}",
        f"port={port}",
        *([] if named else [f"model_name={model}"]),
        *overrides,
    ]
    with open(log, "wb") as out:
        proc = subprocess.Popen(argv, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_health(proc, base, log, startup_timeout)
        yield ChatServer(f"{base}/v1", model, token, log, proc)
    finally:
        stop(proc)


def wait_for_health(proc: subprocess.Popen, base: str, log: Path, timeout: float = 180) -> None:
    """Wait until the server process `proc` (its output in `log`) answers `base`/health; fail if it exits."""
    import urllib.request

    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise AssertionError(f"{proc.args} exited {proc.returncode}:\n{log.read_text(errors='replace')[-4000:]}")
        try:
            with urllib.request.urlopen(f"{base}/health", timeout=2):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{proc.args} did not answer /health in {timeout}s:\n{log.read_text(errors='replace')[-4000:]}"
                ) from None
            time.sleep(0.25)


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# --- the local SLURM cluster ---


def slurm_env(conf: Path) -> dict:
    return {**os.environ, "SLURM_CONF": str(conf), "PATH": f"/usr/bin:/bin:/usr/sbin:/sbin:{os.environ['PATH']}"}


def sacct_nodes(conf: Path, job: str, tasks: int) -> set[str]:
    """Nodes of the job's array tasks as accounting recorded them (slurmdbd lags the jobs by a moment)."""

    def records():
        out = subprocess.run(
            ["sacct", "-j", job, "-X", "-n", "-P", "-o", "JobID,NodeList"],
            env=slurm_env(conf),
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        rows = [line.split("|") for line in out.splitlines() if "_" in line.split("|")[0]]
        return rows if len(rows) == tasks else None

    return {node for _, node in wait_until(records, f"sacct to list {tasks} tasks of job {job}", timeout=30, every=0.5)}


def wait_for_idle_nodes(conf: Path) -> None:
    """Every node idle: a job an earlier test ran stays allocated for a few seconds after its last task exits."""

    def idle():
        out = subprocess.run(
            ["sinfo", "-h", "-N", "-o", "%N %t"], env=slurm_env(conf), capture_output=True, text=True, check=True
        ).stdout
        return all(line.split()[1] == "idle" for line in out.splitlines()) and bool(out.strip())

    wait_until(idle, "every node of the test cluster to be idle", timeout=120, every=0.5)


def running_jobs(conf: Path) -> list[str]:
    out = subprocess.run(
        ["squeue", "-h", "-t", "RUNNING", "-o", "%i"], env=slurm_env(conf), capture_output=True, text=True
    ).stdout
    return out.split()


def wait_until(cond, what: str, timeout: float = 300, every: float = 0.1):
    end = time.monotonic() + timeout
    while not (value := cond()):
        assert time.monotonic() < end, f"timed out waiting for {what}"
        time.sleep(every)
    return value


def wandb_ids(run_dir: Path) -> set[str]:
    return {p.name.split("-")[3] for p in offline_runs(run_dir)}  # offline-run-<time>-<id>[-n]


# what used to reach the console on every run
NOISE = {
    "bitsandbytes' CPU kernel warning": "gemm_4bit_forward",
    "a Python warning": re.compile(r"\w+Warning: |warnings\.warn\("),
    "a trainer metric dict": re.compile(r"\{'(eval_)?loss': "),
    "a DPO metric": "rewards/margins",
    "a library's WARNING record": re.compile(r"\]\[(?!llmsweep|HYDRA)[\w.]+\]\[WARNING\]"),
}


def found(pattern, text: str) -> bool:
    return bool(pattern.search(text)) if isinstance(pattern, re.Pattern) else pattern in text
