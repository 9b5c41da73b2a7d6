"""Training jobs as SLURM array tasks on a real (single-host) cluster brought up by slurm/local/."""

from __future__ import annotations

import subprocess

from conftest import cli_env, read_metrics, run_cli
from llmsweep.tracking.offline import offline_runs


def test_the_cluster_runs_array_jobs_on_both_nodes(slurm_cluster, tmp_path):
    env = {"SLURM_CONF": str(slurm_cluster), "PATH": "/usr/bin:/bin:/usr/sbin:/sbin"}
    script = tmp_path / "job.sh"
    script.write_text("#!/bin/bash\necho \"$SLURMD_NODENAME $SLURM_ARRAY_TASK_ID\"\n")
    out = subprocess.run(
        ["sbatch", "--wait", "--array=0-3", "-o", str(tmp_path / "out-%A_%a.txt"), str(script)],
        env=env, capture_output=True, text=True, timeout=120,
    )
    assert out.returncode == 0, out.stderr
    lines = sorted(p.read_text().strip() for p in tmp_path.glob("out-*.txt"))
    assert [line.split()[1] for line in lines] == ["0", "1", "2", "3"]
    assert {line.split()[0] for line in lines} <= {"n1", "n2"}


def test_model_sweep_runs_as_a_slurm_array_through_hydra(slurm_cluster, cache_dir, tmp_path):
    sweep = tmp_path / "sweep"
    run_cli(
        cache_dir, "-m", "model=solar,mixtral", "method=dpo", "hydra/launcher=slurm_local",
        "trainer.max_steps=10", "generate.num_prompts=2", out=sweep,
        env=cli_env(cache_dir, SLURM_CONF=str(slurm_cluster)),
    )
    for sub in ("0", "1"):
        m = read_metrics(sweep / sub)
        assert m["eval_loss"] < m["initial_eval_loss"]
        assert offline_runs(sweep / sub)
    logs = list((sweep / ".submitit").glob("*_*/*_log.out"))
    assert len(logs) == 2, "each run was a task of one SLURM array"
