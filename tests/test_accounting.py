"""GPU accounting counts what SLURM allocated: from `scontrol show job`, else from SLURM's environment, in the
batch script and in the `srun` step submitit runs the job in."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from helpers import REPO
from llmsweep.tracking.accounting import device_count

SLURM_VARS = (
    "SLURM_JOB_ID",
    "SLURM_GPUS",
    "SLURM_GPUS_ON_NODE",
    "SLURM_JOB_GPUS",
    "SLURM_JOB_NUM_NODES",
    "SLURM_NNODES",
    "WORLD_SIZE",
)


# The environments SLURM 22.05 (slurm/local/up.sh, two stand-in GPUs per node) gives a job, as printed by `env`.
@pytest.mark.parametrize(
    "env, gpus",
    [
        # sbatch --exclusive, in the srun step submitit runs: no SLURM_GPUS_ON_NODE, sacct says gres/gpu=2
        ({"SLURM_JOB_GPUS": "0,1", "SLURM_JOB_NUM_NODES": "1"}, 2),
        ({"SLURM_JOB_GPUS": "0,1", "SLURM_GPUS_ON_NODE": "2", "SLURM_JOB_NUM_NODES": "1"}, 2),  # its batch script
        ({"SLURM_JOB_GPUS": "0", "SLURM_GPUS_ON_NODE": "1", "SLURM_JOB_NUM_NODES": "1"}, 1),  # --gpus-per-node=1
        ({"SLURM_GPUS": "4", "SLURM_JOB_GPUS": "0,1", "SLURM_GPUS_ON_NODE": "2", "SLURM_JOB_NUM_NODES": "2"}, 4),
        ({"SLURM_GPUS": "3", "SLURM_GPUS_ON_NODE": "2", "SLURM_JOB_NUM_NODES": "2"}, 3),  # --gpus=3 -N2: 2 + 1
        ({"SLURM_GPUS": "a100:4", "SLURM_GPUS_ON_NODE": "2", "SLURM_JOB_NUM_NODES": "2"}, 4),  # a typed request
    ],
)
def test_devices_are_the_gpus_slurm_allocated_when_scontrol_cannot_say(env, gpus, monkeypatch, tmp_path):
    for k in SLURM_VARS:
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # no scontrol here: SLURM's environment is all there is
    monkeypatch.setenv("SLURM_JOB_ID", "7")
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    assert device_count() == gpus


def test_a_slurm_job_without_gpus_counts_as_one_device(monkeypatch, tmp_path):
    for k in SLURM_VARS:
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("SLURM_JOB_ID", "7")
    monkeypatch.setenv("SLURM_JOB_NUM_NODES", "1")
    assert device_count() == 1


# devices as a run counts them: with scontrol, then from the environment alone
COUNT = (
    "import os; from llmsweep.tracking.accounting import device_count; "
    "told = device_count(); os.environ['PATH'] = ''; print(told, device_count())"
)


@pytest.mark.parametrize("request_args", [["--exclusive"], ["--gpus-per-node=1"], ["--gpus-per-node=2"]])
def test_in_the_cluster_devices_match_what_sacct_accounts(slurm_cluster, tmp_path, request_args):
    env = {
        **os.environ,
        "SLURM_CONF": str(slurm_cluster),
        "PATH": f"/usr/bin:/bin:/usr/sbin:/sbin:{os.environ['PATH']}",
        "PYTHONPATH": os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")]),
    }
    script = tmp_path / "job.sh"
    # like submitit: the work runs in an srun step of the batch job
    script.write_text(f'#!/bin/bash\nsrun --ntasks=1 {sys.executable} -c "{COUNT}"\n')
    out = tmp_path / "out.txt"
    sub = subprocess.run(
        ["sbatch", "--parsable", "--wait", "-p", "debug", *request_args, "-o", str(out), str(script)],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert sub.returncode == 0, sub.stderr + out.read_text(errors="replace")
    from_scontrol, from_env = map(int, out.read_text().split())
    job = sub.stdout.strip()
    tres = subprocess.run(
        ["sacct", "-j", job, "-X", "-n", "-P", "-o", "AllocTRES"], env=env, capture_output=True, text=True, check=True
    ).stdout.strip()
    allocated = dict(kv.split("=", 1) for kv in tres.split(","))["gres/gpu"]
    assert from_scontrol == from_env == int(allocated) >= 1
