"""Shared fixtures: a per-session cache of tiny base models, the real components (PostgreSQL, a SLURM cluster) and
a tiny chat run. Helper functions are in helpers.py."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from helpers import REPO, require, run_cli


def shared_tmp(tmp_path_factory) -> Path:
    """pytest's tmp root for this run, the same dir in every xdist worker (a worker's own root is one level down)."""
    root = tmp_path_factory.getbasetemp()
    return root.parent if os.environ.get("PYTEST_XDIST_WORKER") else root


@pytest.fixture(scope="session", autouse=True)
def cache_dir(tmp_path_factory):
    """The session's model cache: LLMSWEEP_CACHE_DIR when set (.ci/run points it at a fresh, empty dir), else a
    fresh one shared by the xdist workers. Tiny bases are built once in it (a build takes a file lock), as a fresh
    machine builds them. Exported for the session, so every process a test starts (servers, SLURM jobs) and every
    in-process config use it too."""
    path = Path(os.environ.get("LLMSWEEP_CACHE_DIR") or shared_tmp(tmp_path_factory) / "llmsweep-cache")
    path.mkdir(parents=True, exist_ok=True)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LLMSWEEP_CACHE_DIR", str(path))
        yield path


@pytest.fixture(scope="session")
def postgres_url():
    """A throwaway PostgreSQL cluster (Debian's server binaries) on a free loopback port."""
    import glob
    import shutil
    import socket

    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not bins:
        require(
            "PostgreSQL",
            "LLMSWEEP_REQUIRE_POSTGRES",
            "no /usr/lib/postgresql/*/bin/initdb (apt-get install postgresql)",
        )
    bindir = Path(bins[-1]).parent
    as_user = []
    if os.geteuid() == 0:  # the server refuses to run as root
        if not shutil.which("runuser"):
            require("PostgreSQL", "LLMSWEEP_REQUIRE_POSTGRES", "running as root without runuser")
        as_user = ["runuser", "-u", "postgres", "--"]
    import tempfile

    top = Path(
        tempfile.mkdtemp(prefix="llmsweep-pg-")
    )  # not under pytest's root-only tmp dir: the server user must reach it
    data = top / "data"
    top.chmod(0o777)
    if as_user:
        shutil.chown(top, "postgres")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    subprocess.run(
        [*as_user, str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"],
        check=True,
        capture_output=True,
    )
    opts = f"-p {port} -k {data} -h 127.0.0.1"
    subprocess.run(
        [*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-o", opts, "-l", str(data / "log"), "-w", "start"],
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql+psycopg2://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            [*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"], capture_output=True
        )
        shutil.rmtree(top, ignore_errors=True)


@pytest.fixture(scope="session")
def slurm_cluster():
    """The single-host cluster of slurm/local/up.sh for the session; SLURM_CONF for the CLI. Each xdist worker that
    needs one starts its own (a state dir and free ports of its own)."""
    import shutil
    import tempfile

    path = f"{os.environ.get('PATH', '')}:/usr/sbin:/sbin"
    missing = [
        b
        for b in ("munged", "slurmctld", "slurmd", "slurmdbd", "sbatch", "sacct", "mariadbd")
        if not shutil.which(b, path=path)
    ]
    if missing:
        require(
            "SLURM",
            "LLMSWEEP_REQUIRE_SLURM",
            f"{', '.join(missing)} not installed "
            "(apt-get install munge slurm-wlm slurmctld slurmd slurm-client slurmdbd mariadb-server)",
        )
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


@pytest.fixture(scope="session")
def tiny_chat_run(cache_dir, tmp_path_factory) -> Path:
    """A tiny LoRA SFT run dir (Mistral architecture, 10 steps, no tracking): something to serve or judge. Made
    once for the test run: the first xdist worker to need it trains it, under a lock the other waits on."""
    from filelock import FileLock

    run_dir = shared_tmp(tmp_path_factory) / "chat-run" / "run"
    run_dir.parent.mkdir(exist_ok=True)
    with FileLock(run_dir.parent / "lock"):
        if not (run_dir / "metrics.json").exists():
            run_cli(
                cache_dir,
                "model=mistral",
                "method=lora",
                "tracking=none",
                "trainer.max_steps=10",
                "generate.num_prompts=1",
                out=run_dir,
            )
    return run_dir
