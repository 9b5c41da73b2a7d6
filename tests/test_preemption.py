"""Preemption safety without a cluster: a signalled run checkpoints, exits, and its re-run resumes."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from helpers import REPO, cli_env, read_metrics, run_cli
from llmsweep.tracking.offline import offline_runs

ARGS = ["trainer.max_steps=40", "trainer.save_strategy=steps", "generate.num_prompts=2"]


def wait_for(path: Path, proc: subprocess.Popen, timeout: float = 300) -> None:
    end = time.monotonic() + timeout
    while not path.exists():
        assert proc.poll() is None, f"the run ended before {path} appeared:\n{proc.stdout.read()[-3000:]}"
        assert time.monotonic() < end, f"{path} did not appear in {timeout} s"
        time.sleep(0.05)


def test_a_signalled_run_saves_and_its_rerun_resumes_to_the_uninterrupted_result(cache_dir, tmp_path):
    run_cli(cache_dir, *ARGS, out=tmp_path / "whole")

    cut = tmp_path / "cut"
    proc = subprocess.Popen(
        [sys.executable, "train.py", *ARGS, f"hydra.run.dir={cut}"],
        cwd=REPO,
        env=cli_env(cache_dir),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    wait_for(cut / "checkpoints" / "checkpoint-10", proc)
    proc.send_signal(signal.SIGUSR1)  # what `#SBATCH --signal=B:USR1@N` sends before the time limit
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 128 + signal.SIGUSR1, out[-3000:]
    assert "caught SIGUSR1" in out
    assert not (cut / "metrics.json").exists(), "an interrupted run reports nothing"
    saved = max(int(p.name.split("-")[1]) for p in (cut / "checkpoints").glob("checkpoint-*"))
    assert 10 < saved < 40, "the signal itself triggered a save between the periodic ones"

    resumed = run_cli(cache_dir, *ARGS, out=cut)  # the requeued job: same config, same run dir
    assert f"resuming from {cut / 'checkpoints' / f'checkpoint-{saved}'}" in resumed.stderr + resumed.stdout
    whole, again = read_metrics(tmp_path / "whole"), read_metrics(cut)
    assert abs(again["eval_loss"] - whole["eval_loss"]) < 1e-6
    assert again["global_step"] == whole["global_step"] == 40
    assert again["attempts"] == 2 and again["device_seconds"] > 0
    ids = {p.name.split("-")[3] for p in offline_runs(cut)}  # offline-run-<time>-<id>[-n]
    assert len(offline_runs(cut)) == 2 and len(ids) == 1, "both attempts wrote to one W&B run id"


def test_ctrl_c_saves_a_checkpoint_says_how_to_continue_and_the_command_resumes(cache_dir, tmp_path):
    """SIGINT (Ctrl-C) stops a local run like SIGTERM does: a checkpoint, one line with the command that continues,
    no traceback; that command resumes from the checkpoint."""
    cut = tmp_path / "cut"
    args = ["trainer.max_steps=40", "generate.num_prompts=2", "tracking=none"]  # no periodic save: only the signal's
    proc = subprocess.Popen(
        [sys.executable, "train.py", *args, f"hydra.run.dir={cut}"],
        cwd=REPO,
        env=cli_env(cache_dir),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_for(cut / "train.log", proc)
    end = time.monotonic() + 300
    while " eval rows" not in (cut / "train.log").read_text():  # the model is loaded: the signal is being listened for
        assert proc.poll() is None and time.monotonic() < end, "the run did not start"
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 128 + signal.SIGINT, err[-3000:]
    assert "Traceback" not in out + err and "KeyboardInterrupt" not in out + err
    (line,) = [ln for ln in err.splitlines() if ln.startswith("interrupted:")]
    assert f"hydra.run.dir={cut}" in line and "continue with: python train.py trainer.max_steps=40" in line
    saved = [p.name for p in (cut / "checkpoints").glob("checkpoint-*")]
    assert len(saved) == 1 and not (cut / "metrics.json").exists()
    resumed = run_cli(cache_dir, *args, out=cut)
    assert f"resuming from {cut / 'checkpoints' / saved[0]}" in resumed.stderr + resumed.stdout
    assert read_metrics(cut)["global_step"] == 40 and read_metrics(cut)["attempts"] == 2
