"""Training jobs and sweeps on a real single-host SLURM cluster (slurm/local/: munge, MariaDB + slurmdbd,
slurmctld, two slurmd nodes n1 and n2): arrays, preemption and requeue, dead jobs, tear-down."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import optuna
import pytest

from helpers import (
    REPO,
    cli_env,
    read_metrics,
    run_cli,
    running_jobs,
    sacct_nodes,
    slurm_env,
    wait_for_idle_nodes,
    wait_until,
    wandb_ids,
)
from llmsweep.tracking.offline import offline_runs

# a trial long enough to interrupt, checkpointing every 10 steps; every trial gets the same params
SAME_TRIALS = [
    "hydra/sweeper=llmsweep_optuna",
    "hydra.sweeper.sampler.name=random",
    "method.lora.r=choice(8)",
    "trainer.max_steps=40",
    "trainer.save_strategy=steps",
    "generate.num_prompts=2",
]
REFERENCE = ["method.lora.r=8", "trainer.max_steps=40", "trainer.save_strategy=steps", "generate.num_prompts=2"]


@pytest.fixture(scope="module")
def reference_loss(cache_dir, tmp_path_factory) -> float:
    """The same trial run once, uninterrupted, outside SLURM."""
    out = tmp_path_factory.mktemp("reference")
    run_cli(cache_dir, *REFERENCE, "tracking=none", out=out / "run")
    return read_metrics(out / "run")["eval_loss"]


def test_the_cluster_runs_array_jobs_on_both_nodes_and_accounts_them(slurm_cluster, tmp_path):
    wait_for_idle_nodes(slurm_cluster)  # else all four tasks can run on the one node an earlier job left free
    script = tmp_path / "job.sh"
    script.write_text('#!/bin/bash\necho "$SLURMD_NODENAME $SLURM_ARRAY_TASK_ID"\n')
    out = subprocess.run(
        [
            "sbatch",
            "--parsable",
            "--wait",
            "--array=0-3",
            "--exclusive",
            "-o",
            str(tmp_path / "out-%A_%a.txt"),
            str(script),
        ],
        env=slurm_env(slurm_cluster),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    lines = sorted(p.read_text().strip() for p in tmp_path.glob("out-*.txt"))
    assert sorted(line.split()[1] for line in lines) == ["0", "1", "2", "3"]
    assert sacct_nodes(slurm_cluster, out.stdout.strip(), 4) == {"n1", "n2"}, (
        "sacct (slurmdbd + MariaDB) saw both nodes"
    )


# the README's SLURM multirun (one array, a task on each node, accounted): tests/test_readme_walkthroughs.py


def test_preempted_sweep_trials_resume_from_their_checkpoints(slurm_cluster, cache_dir, tmp_path, reference_loss):
    """Two trials on the two nodes, both signalled mid-training as SLURM does before a time limit: each saves,
    submitit requeues the same job, and the job resumes the same trial from its checkpoint."""
    sweep, db = tmp_path / "sweep", tmp_path / "optuna.db"
    argv = [
        sys.executable,
        "train.py",
        "-m",
        *SAME_TRIALS,
        "hydra/launcher=slurm_local",
        "hydra.sweeper.n_trials=2",
        "hydra.sweeper.n_workers=2",
        "hydra.sweeper.study_name=pre",
        f"hydra.sweeper.storage=sqlite:///{db}",
        f"hydra.sweep.dir={sweep}",
    ]
    proc = subprocess.Popen(
        argv,
        cwd=REPO,
        env=cli_env(cache_dir, SLURM_CONF=str(slurm_cluster)),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    wait_until(
        lambda: all((sweep / n / "checkpoints" / "checkpoint-10").exists() for n in "01") or proc.poll() is not None,
        "both trials to checkpoint",
    )
    jobs = running_jobs(slurm_cluster)
    assert len(jobs) == 2, jobs
    for job in jobs:  # what SLURM sends signal_delay_s before the time limit
        subprocess.run(["scancel", "--signal=USR2", job], env=slurm_env(slurm_cluster), check=True)
    out, _ = proc.communicate(timeout=600)
    assert proc.returncode == 0, out[-4000:]

    trials = optuna.load_study(study_name="pre", storage=f"sqlite:///{db}").trials
    assert [t.state.name for t in trials] == ["COMPLETE", "COMPLETE"], "the same two trials, none added"
    nodes = set()
    for n in "01":
        m = read_metrics(sweep / n)
        assert m["attempts"] == 2, "interrupted once, then resumed"
        assert abs(m["eval_loss"] - reference_loss) < 1e-6
        assert m["global_step"] == 40
        assert len(offline_runs(sweep / n)) == 2 and len(wandb_ids(sweep / n)) == 1, "one W&B run id across the requeue"
        nodes |= {a["node"] for a in m["slurm"]}
        assert len({a["job"] for a in m["slurm"]}) == 1, "requeued as the same SLURM job"
    assert nodes == {"n1", "n2"}, "trials ran on both nodes"
    assert "device time:" in out


def test_sbatch_array_of_sweep_workers_resumes_a_preempted_worker(slurm_cluster, cache_dir, tmp_path, reference_loss):
    """slurm/train_array.sbatch without Hydra's launcher: two array tasks fill one study; one is signalled
    (B:USR1, its time-limit warning), requeues itself and resumes its running trial."""
    sweep = tmp_path / "sweep"
    sweep.mkdir()
    env = {
        **cli_env(cache_dir),
        **slurm_env(slurm_cluster),
        "LLMSWEEP_SWEEP_DIR": str(sweep),
        "LLMSWEEP_PYTHON": sys.executable,
    }
    env = {k: v for k, v in env.items() if not k.startswith(("WANDB_API", "HF_TOKEN"))}
    sub = subprocess.run(
        [
            "sbatch",
            "--parsable",
            "-p",
            "debug",
            "--cpus-per-task=1",
            "--gpus-per-node=1",
            "--array=0-1",
            "-o",
            str(sweep / "slurm-%A_%a.out"),
            "slurm/train_array.sbatch",
            *SAME_TRIALS,
            "hydra.sweeper.n_trials=3",
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    array = sub.stdout.strip()
    wait_until(lambda: (sweep / "0" / "checkpoints" / "checkpoint-10").exists(), "trial 0 to checkpoint")
    owner = wait_until(
        lambda: [p for p in sweep.glob("slurm-*.out") if "trial 0:" in p.read_text(errors="replace")],
        "trial 0's worker",
    )
    task = owner[0].stem.split("_")[1]
    subprocess.run(["scancel", "--batch", "--signal=USR1", f"{array}_{task}"], env=slurm_env(slurm_cluster), check=True)
    wait_until(
        lambda: (
            not subprocess.run(
                ["squeue", "-h", "-j", array], env=slurm_env(slurm_cluster), capture_output=True, text=True
            ).stdout.strip()
        ),
        "the array to finish",
        timeout=600,
        every=1,
    )

    log = owner[0].read_text(errors="replace")
    assert "trial 0 preempted" in log and "trial 0: resuming it" in log and "(restart 1)" in log
    from optuna.storages.journal import JournalFileBackend, JournalStorage

    study = optuna.load_study(
        study_name=f"array-{array}", storage=JournalStorage(JournalFileBackend(str(sweep / "optuna.journal")))
    )
    ran = [t for t in study.trials if not t.user_attrs.get("surplus")]  # a worker may ask one past n_trials: never run
    assert sorted(t.state.name for t in ran) == ["COMPLETE"] * 3
    for t in ran:
        m = read_metrics(sweep / str(t.number))
        assert abs(m["eval_loss"] - reference_loss) < 1e-6
        assert m["devices"] == 1 and m["attempts"] == (2 if t.number == 0 else 1)
    assert len(wandb_ids(sweep / "0")) == 1
    assert {p.name for p in sweep.glob("slurm-*.out")} == {f"slurm-{array}_0.out", f"slurm-{array}_1.out"}


def test_a_job_killed_on_its_node_is_failed_in_the_sweep_within_30_s(slurm_cluster, cache_dir, tmp_path):
    sweep, db = tmp_path / "sweep", tmp_path / "optuna.db"
    argv = [
        sys.executable,
        "train.py",
        "-m",
        *SAME_TRIALS,
        "hydra/launcher=slurm_local",
        "hydra.sweeper.n_trials=1",
        "hydra.sweeper.max_retries=0",
        "hydra.sweeper.study_name=dies",
        f"hydra.sweeper.storage=sqlite:///{db}",
        "tracking=none",
        f"hydra.sweep.dir={sweep}",
    ]
    proc = subprocess.Popen(
        argv,
        cwd=REPO,
        env=cli_env(cache_dir, SLURM_CONF=str(slurm_cluster)),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    wait_until(lambda: (sweep / "0" / "checkpoints").exists() or proc.poll() is not None, "the job to train")
    pids = subprocess.run(
        ["pgrep", "-f", f"submitit.core._submit {sweep}"], capture_output=True, text=True
    ).stdout.split()
    assert pids, "the job's process"
    killed_at = time.monotonic()
    for pid in pids:
        os.kill(int(pid), signal.SIGKILL)
    out, _ = proc.communicate(timeout=120)
    took = time.monotonic() - killed_at
    (trial,) = optuna.load_study(study_name="dies", storage=f"sqlite:///{db}").trials
    assert trial.state.name == "FAIL" and "worker died" in trial.user_attrs["error"], out[-3000:]
    assert took < 30, f"the sweep noticed the dead job after {took:.1f} s"


def _daemons_of(state: Path) -> list[int]:
    """Live processes started for the cluster in `state` (by command line or SLURM_CONF)."""
    pids = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            text = (proc / "cmdline").read_bytes() + (proc / "environ").read_bytes()
        except OSError:
            continue
        if str(state).encode() in text and int(proc.name) != os.getpid():
            pids.append(int(proc.name))
    return pids


def test_down_leaves_no_slurm_munge_or_mariadb_process(slurm_cluster):
    state = Path(tempfile.mkdtemp(prefix="llmsweep-slurm-down-"))
    up = subprocess.run([str(REPO / "slurm/local/up.sh"), str(state)], capture_output=True, text=True)
    assert up.returncode == 0, up.stdout + up.stderr
    daemons = {p.stem: int(p.read_text()) for p in state.glob("*.pid")}
    assert {"munged", "mariadb", "slurmdbd", "slurmctld", "slurmd-n1", "slurmd-n2"} <= set(daemons)
    assert all(Path(f"/proc/{pid}").exists() for pid in daemons.values())
    subprocess.run([str(REPO / "slurm/local/down.sh"), str(state)], check=True, capture_output=True)
    alive = [
        pid
        for pid in daemons.values()
        if Path(f"/proc/{pid}").exists() and "Z" not in Path(f"/proc/{pid}/stat").read_text().split()[2]
    ]
    assert not alive and not _daemons_of(state), "down.sh stopped every daemon of its cluster"
    assert not state.exists()
