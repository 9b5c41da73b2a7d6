"""Ctrl-C during an in-process sweep (Hydra's basic launcher, one worker): the running trial stops at a step with a
checkpoint, every trial's real state is recorded, one line says how to continue, and that command does."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna

from helpers import REPO, cli_env, read_metrics

# no periodic save: the only checkpoint is the one the signal asks for; a base without pretraining builds fast
TRIAL = ["trainer.max_steps=40", "trainer.eval_steps=20", "generate.num_prompts=2", "tiny_base.pretrain_steps=0"]


def test_ctrl_c_checkpoints_the_running_trial_records_states_and_the_same_command_continues(cache_dir, tmp_path):
    db, sweep_dir = tmp_path / "optuna.db", tmp_path / "sweep"
    argv = [
        sys.executable,
        "train.py",
        "-m",
        "hydra/sweeper=llmsweep_optuna",
        "hydra.sweeper.sampler.name=grid",
        "method.args.learning_rate=choice(1e-4,3e-4)",
        "hydra.sweeper.n_trials=2",
        "hydra.sweeper.study_name=cc",
        f"hydra.sweeper.storage=sqlite:///{db}",
        "hydra.sweeper.plots=false",
        *TRIAL,
        f"hydra.sweep.dir={sweep_dir}",
    ]
    # its own process group, signalled as a whole: what Ctrl-C in a terminal does (wandb's service gets it too)
    proc = subprocess.Popen(
        argv,
        cwd=REPO,
        env=cli_env(cache_dir),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    log = sweep_dir / "1" / "train.log"
    end = time.monotonic() + 600
    while not (log.exists() and " eval rows" in log.read_text()):  # the second trial is loaded and about to train
        assert proc.poll() is None, proc.communicate()[1][-3000:]
        assert time.monotonic() < end, "the second trial did not start"
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGINT)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 128 + signal.SIGINT, err[-3000:]
    assert "Traceback" not in out + err and "KeyboardInterrupt" not in out + err, err[-3000:]
    (line,) = [ln for ln in err.splitlines() if ln.startswith("interrupted:")]
    assert "trial 1 stopped with a checkpoint in" in line and f"hydra.sweep.dir={sweep_dir}" in line

    study = optuna.load_study(study_name="cc", storage=f"sqlite:///{db}")
    first, cut = study.get_trials()
    assert first.state.name == "COMPLETE" and read_metrics(sweep_dir / "0")["global_step"] == 40
    assert cut.state.name == "FAIL" and cut.user_attrs["interrupted"] is True
    checkpoint = Path(cut.user_attrs["checkpoint"])
    assert checkpoint.parent == sweep_dir / "1" / "checkpoints" and 0 < int(checkpoint.name.split("-")[1]) < 40
    assert not (sweep_dir / "1" / "metrics.json").exists(), "an interrupted trial reports nothing"

    again = subprocess.run(argv, cwd=REPO, env=cli_env(cache_dir), capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-3000:]
    trials = optuna.load_study(study_name="cc", storage=f"sqlite:///{db}").get_trials()
    assert [t.state.name for t in trials] == ["COMPLETE", "FAIL", "COMPLETE"], "only the interrupted trial ran again"
    cont = trials[2]
    assert cont.user_attrs["retry_of"] == 1 and cont.params == cut.params
    assert cont.user_attrs["run_dir"] == str(sweep_dir / "1"), "it continued in the interrupted trial's run dir"
    assert f"resuming from {checkpoint}" in (sweep_dir / "1" / "train.log").read_text()
    metrics = read_metrics(sweep_dir / "1")
    assert metrics["global_step"] == 40 and metrics["attempts"] == 2 and cont.value == metrics["objective"]
    assert not (sweep_dir / "2").exists()
