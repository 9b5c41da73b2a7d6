"""Shared fixtures: the real CLI in a subprocess, on a per-session cache of tiny base models."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CONF_DIR = str(REPO / "conf")
# Values that must never appear in anything a run writes (the runs get them in their environment).
SECRETS = {"HF_TOKEN": "hf_testSECRETc0ffee", "WANDB_API_KEY": "wandbSECRETdeadbeef0123456789abcdef01234567"}


@pytest.fixture(scope="session", autouse=True)
def cache_dir(tmp_path_factory):
    """The session's model cache: LLMSWEEP_CACHE_DIR when set (.ci/run points it at a fresh, empty dir), else a
    fresh one. Tiny bases are built once in it, as a fresh machine builds them. Exported for the session, so
    every process a test starts (servers, SLURM jobs) and every in-process config use it too."""
    path = Path(os.environ.get("LLMSWEEP_CACHE_DIR") or tmp_path_factory.mktemp("llmsweep-cache"))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LLMSWEEP_CACHE_DIR", str(path))
        yield path


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


@pytest.fixture(scope="session")
def postgres_url():
    """A throwaway PostgreSQL cluster (Debian's server binaries) on a free loopback port."""
    import glob
    import shutil
    import socket

    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not bins:
        require("PostgreSQL", "LLMSWEEP_REQUIRE_POSTGRES", "no /usr/lib/postgresql/*/bin/initdb (apt-get install postgresql)")
    bindir = Path(bins[-1]).parent
    as_user = []
    if os.geteuid() == 0:  # the server refuses to run as root
        if not shutil.which("runuser"):
            require("PostgreSQL", "LLMSWEEP_REQUIRE_POSTGRES", "running as root without runuser")
        as_user = ["runuser", "-u", "postgres", "--"]
    import tempfile

    top = Path(tempfile.mkdtemp(prefix="llmsweep-pg-"))  # not under pytest's root-only tmp dir: the server user must reach it
    data = top / "data"
    top.chmod(0o777)
    if as_user:
        shutil.chown(top, "postgres")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    subprocess.run([*as_user, str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"], check=True, capture_output=True)
    opts = f"-p {port} -k {data} -h 127.0.0.1"
    subprocess.run([*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-o", opts, "-l", str(data / "log"), "-w", "start"], check=True, capture_output=True)
    try:
        yield f"postgresql+psycopg2://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"], capture_output=True)
        shutil.rmtree(top, ignore_errors=True)


@pytest.fixture(scope="session")
def slurm_cluster():
    """The single-host cluster of slurm/local/up.sh for the session; SLURM_CONF for the CLI."""
    import shutil
    import tempfile

    path = f"{os.environ.get('PATH', '')}:/usr/sbin:/sbin"
    missing = [b for b in ("munged", "slurmctld", "slurmd", "slurmdbd", "sbatch", "sacct", "mariadbd") if not shutil.which(b, path=path)]
    if missing:
        require("SLURM", "LLMSWEEP_REQUIRE_SLURM", f"{', '.join(missing)} not installed "
                "(apt-get install munge slurm-wlm slurmctld slurmd slurm-client slurmdbd mariadb-server)")
    if os.geteuid() != 0:
        require("SLURM", "LLMSWEEP_REQUIRE_SLURM", "slurm/local/up.sh needs root")
    state = Path(tempfile.mkdtemp(prefix="llmsweep-slurm-"))
    up = subprocess.run([str(REPO / "slurm" / "local" / "up.sh"), str(state)], capture_output=True, text=True)
    if up.returncode != 0:
        subprocess.run([str(REPO / "slurm" / "local" / "down.sh"), str(state)], capture_output=True)
        pytest.fail(f"slurm/local/up.sh failed:\n{up.stdout}\n{up.stderr}")
    try:
        yield state / "etc" / "slurm.conf"
    finally:
        subprocess.run([str(REPO / "slurm" / "local" / "down.sh"), str(state)], capture_output=True)


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
def chat_server(run_dir: Path, *overrides: str, token: str | None = None, env: dict | None = None, startup_timeout: float = 180):
    """`python serve.py run_dir=RUN` on a free loopback port for the duration of the block (a real
    uvicorn server in a subprocess). Reusable as a judge backend: `judge.base_url=server.base_url`."""
    import tempfile
    import time
    import urllib.request

    env = dict(os.environ if env is None else env, HF_HUB_OFFLINE="1", PYTHONUNBUFFERED="1")
    env.pop("LLMSWEEP_API_TOKEN", None)
    if token is not None:
        env["LLMSWEEP_API_TOKEN"] = token
    port = free_port()
    log = Path(tempfile.mkstemp(prefix="llmsweep-serve-", suffix=".log")[1])
    named = [o.split("=", 1)[1] for o in overrides if o.startswith("model_name=")]
    model = named[-1] if named else "tiny-chat"
    argv = [sys.executable, "serve.py", f"run_dir={run_dir}", f"port={port}", *([] if named else [f"model_name={model}"]), *overrides]
    with open(log, "wb") as out:
        proc = subprocess.Popen(argv, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + startup_timeout
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"{' '.join(argv)} exited {proc.returncode}:\n{log.read_text(errors='replace')[-4000:]}")
            try:
                with urllib.request.urlopen(f"{base}/health", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise AssertionError(f"serve.py did not answer /health in {startup_timeout}s:\n{log.read_text(errors='replace')[-4000:]}")
                time.sleep(0.25)
        yield ChatServer(f"{base}/v1", model, token, log, proc)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="session")
def tiny_chat_run(cache_dir, tmp_path_factory) -> Path:
    """A tiny LoRA SFT run dir (Mistral architecture, 10 steps, no tracking): something to serve or judge."""
    run_dir = tmp_path_factory.mktemp("chat-run") / "run"
    run_cli(cache_dir, "model=mistral", "method=lora", "tracking=none", "trainer.max_steps=10", "generate.num_prompts=1", out=run_dir)
    return run_dir
