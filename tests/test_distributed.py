"""One trial over several processes: torchrun locally (gloo on CPU), SLURM tasks over the local cluster's two
nodes; rank 0 alone writes; preemption of a multi-node job resumes every rank; a sweep of multi-process trials."""

from __future__ import annotations

import re
import subprocess
import sys

import optuna
import pytest

from helpers import NOISE, REPO, cli_env, found, read_metrics, run_cli, running_jobs, slurm_env, wait_until, wandb_ids
from llmsweep.tracking.offline import offline_runs

SHORT = ["trainer.max_steps=6", "trainer.eval_steps=3", "generate.num_prompts=2"]
# one task and one stand-in GPU on each node (not the whole node: slurm_local's `exclusive` dropped)
TWO_NODES = [
    "hydra/launcher=slurm_local",
    "distributed=fsdp",
    "devices.nodes=2",
    "hydra.launcher.gpus_per_node=1",
    "~hydra.launcher.additional_parameters.exclusive",
]


@pytest.fixture(scope="module")
def one_process(cache_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("one") / "run"
    run_cli(cache_dir, *SHORT, "trainer.per_device_train_batch_size=8", out=out)
    return read_metrics(out)


@pytest.mark.parametrize("mode", ["ddp", "fsdp"])
def test_two_processes_give_the_single_process_eval_loss_and_only_rank_0_writes(mode, one_process, cache_dir, tmp_path):
    """Same global batch (1 x 8 vs 2 x 4), same data order: DDP averages the gradients of the two halves, FSDP
    reduce-scatters them, so the eval losses agree to float rounding (tolerance 1e-5). FSDP holds half the
    parameters on each rank. The ranks are processes Hydra did not configure: they log to the job's train.log,
    and the console shows rank 0's progress and results once, as a one-process run's does."""
    proc = run_cli(
        cache_dir,
        *SHORT,
        f"distributed={mode}",
        "devices.per_node=2",
        "trainer.per_device_train_batch_size=4",
        out=tmp_path / "two",
    )
    one, two = one_process, read_metrics(tmp_path / "two")
    evals = [[h["eval_loss"] for h in m["history"] if "eval_loss" in h] for m in (one, two)]
    assert len(evals[0]) == 3 and evals[0] == pytest.approx(evals[1], abs=1e-5)
    assert two["devices"] == 2 and one["devices"] == 1, "accounting counts every process's device"
    assert len(offline_runs(tmp_path / "two")) == 1, "only rank 0 logs to W&B"
    assert (tmp_path / "two" / "answers.jsonl").read_text().count("\n") == 2
    (whole,), ranks = one["parameter_bytes_per_rank"], two["parameter_bytes_per_rank"]
    print(f"{mode}: parameter bytes per rank {ranks} vs {whole} in one process")
    if mode == "fsdp":
        assert [r / whole for r in ranks] == pytest.approx([0.5, 0.5], abs=0.02), "each rank holds its half"
        assert (tmp_path / "two" / "model" / "adapter_model.safetensors").exists(), "model/ is gathered, loadable"
    else:
        assert ranks == [whole, whole], "DDP replicates the model"

    console = proc.stdout + proc.stderr
    for what, pattern in NOISE.items():
        assert not found(pattern, console), f"{what} on the console:\n{console[-3000:]}"
    assert "wandb:" not in console, console[-3000:]
    assert len(re.findall(r"W&B run \w+: offline; upload it with: wandb sync ", proc.stdout)) == 1
    assert proc.stdout.count("outputs in") == 1, "rank 1 does not repeat rank 0's results"
    log = (tmp_path / "two" / "train.log").read_text(encoding="utf-8")
    for rank in (0, 1):
        assert f"[rank {rank}][bitsandbytes" in log or f"[rank {rank}][py.warnings][WARNING]" in log, log[-3000:]
    assert re.search(r"\[rank 0\]\[llmsweep\.metrics\]\[INFO\] - step 3: ", log)


def test_processes_without_a_mode_are_refused(cache_dir, tmp_path):
    none = run_cli(cache_dir, "devices.per_node=2", check=False, out=tmp_path / "b")
    assert none.returncode == 2 and "add distributed=ddp or distributed=fsdp" in none.stderr
    assert "Traceback" not in none.stderr


def test_a_model_that_cannot_fit_is_refused_before_any_model_is_looked_up(cache_dir, tmp_path):
    proc = run_cli(
        cache_dir,
        "scale=full",
        "model=polyglot_12.8b",
        "method=full",
        check=False,
        out=tmp_path / "r",
        env=cli_env(cache_dir, HF_HUB_OFFLINE="1"),
    )
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "does not fit devices.memory_gb=80" in proc.stderr and "GB per device" in proc.stderr
    assert "distributed=fsdp" in proc.stderr, "it names a configuration that fits"
    assert "needs the checkpoint" not in proc.stderr, "refused before the checkpoint was looked up"


def test_a_two_node_fsdp_trial_is_one_slurm_job_that_resumes_all_ranks_after_preemption(
    slurm_cluster, cache_dir, tmp_path
):
    """A sweep of one FSDP trial whose job runs on n1 and n2 (one task each); SLURM's time-limit warning (USR2)
    reaches both ranks, they stop at the same step with a sharded checkpoint (one shard per rank), submitit requeues
    the job, both ranks resume from their shards."""
    reference = tmp_path / "reference"
    run_cli(
        cache_dir,
        "trainer.max_steps=30",
        "generate.num_prompts=2",
        "tracking=none",
        "trainer.per_device_train_batch_size=16",
        out=reference,
    )
    sweep, db = tmp_path / "sweep", tmp_path / "optuna.db"
    argv = [
        sys.executable,
        "train.py",
        "-m",
        *TWO_NODES,
        "hydra/sweeper=llmsweep_optuna",
        "method.lora.r=choice(8)",
        "hydra.sweeper.n_trials=1",
        "hydra.sweeper.study_name=nodes",
        f"hydra.sweeper.storage=sqlite:///{db}",
        "trainer.max_steps=30",
        "trainer.save_strategy=steps",
        "generate.num_prompts=2",
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
        lambda: (sweep / "0" / "checkpoints" / "checkpoint-10").exists() or proc.poll() is not None,
        "the trial to checkpoint",
    )
    (job,) = running_jobs(slurm_cluster)
    subprocess.run(["scancel", "--signal=USR2", job], env=slurm_env(slurm_cluster), check=True)
    out, _ = proc.communicate(timeout=600)
    assert proc.returncode == 0, out[-4000:]

    (trial,) = optuna.load_study(study_name="nodes", storage=f"sqlite:///{db}").trials
    assert trial.state.name == "COMPLETE", "one Optuna trial, resumed, not replaced"
    m = read_metrics(sweep / "0")
    assert m["attempts"] == 2 and m["global_step"] == 30 and m["devices"] == 2
    assert {a["nodes"] for a in m["slurm"]} == {"n[1-2]"} and {a["job"] for a in m["slurm"]} == {job}
    assert len(wandb_ids(sweep / "0")) == 1, "one W&B run across the requeue"
    shards = sweep / "0" / "checkpoints" / "checkpoint-30" / "pytorch_model_fsdp_0"
    assert len(list(shards.glob("*.distcp"))) == 2, "checkpoints are sharded: one file per rank"
    # 2 ranks x 8 rows = the reference's 16 a step; resumed from the checkpoint at the step it was taken
    assert m["eval_loss"] == pytest.approx(read_metrics(reference)["eval_loss"], abs=1e-4)
    acct = subprocess.run(
        ["sacct", "-j", job, "-X", "-n", "-P", "-o", "NodeList,AllocTRES"],
        env=slurm_env(slurm_cluster),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "n[1-2]" in acct and "gres/gpu=2" in acct, acct


def test_a_sweep_of_two_process_trials_completes_with_pruning(slurm_cluster, cache_dir, tmp_path):
    sweep, db = tmp_path / "sweep", tmp_path / "optuna.db"
    run_cli(
        cache_dir,
        "-m",
        "hydra/launcher=slurm_local",
        "distributed=fsdp",
        "devices.per_node=2",
        "hydra/sweeper=llmsweep_optuna",
        "method.args.learning_rate=tag(log, interval(1e-5, 1e-2))",
        "hydra.sweeper.n_trials=4",
        "hydra.sweeper.n_workers=2",
        "hydra.sweeper.pruner.name=median",
        "+hydra.sweeper.pruner.kwargs.n_startup_trials=1",
        "hydra.sweeper.study_name=pairs",
        f"hydra.sweeper.storage=sqlite:///{db}",
        "trainer.max_steps=10",
        "trainer.eval_steps=5",
        "trainer.per_device_train_batch_size=4",
        "generate.num_prompts=2",
        "tracking=none",
        out=sweep,
        env=cli_env(cache_dir, SLURM_CONF=str(slurm_cluster)),
    )
    trials = optuna.load_study(study_name="pairs", storage=f"sqlite:///{db}").trials
    assert len(trials) == 4 and all(t.state.name in ("COMPLETE", "PRUNED") for t in trials), [t.state for t in trials]
    for t in trials:
        m = read_metrics(sweep / str(t.number))
        assert m["devices"] == 2 and (m.get("pruned") or m["global_step"] == 10)
