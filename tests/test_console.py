"""The console shows a run's progress and results; library warnings, Python warnings and the trainer's metric
dicts go to the run's log file (train.log) only."""

from __future__ import annotations

import re

from helpers import NOISE, found, read_metrics, run_cli


def test_console_holds_progress_and_results_and_the_log_holds_the_rest(cache_dir, tmp_path):
    run_dir = tmp_path / "run"
    args = (
        "model=solar",
        "method=dpo",
        "tracking=none",
        "trainer.max_steps=4",
        "trainer.eval_steps=2",
        "trainer.logging_steps=2",
        "generate.num_prompts=1",
        "generate.max_new_tokens=4",
    )
    proc = run_cli(cache_dir, *args, out=run_dir)
    console = proc.stdout + proc.stderr
    for what, pattern in NOISE.items():
        assert not found(pattern, console), f"{what} on the console:\n{console[-3000:]}"
    # the results are still there
    objective = read_metrics(run_dir)["objective"]
    assert f"eval_loss = {objective}; outputs in {run_dir}" in proc.stdout

    log = (run_dir / "train.log").read_text(encoding="utf-8")
    assert "gemm_4bit_forward" in log  # bitsandbytes' import-time warning (no `kernels` package here)
    assert "[py.warnings][WARNING]" in log
    train_logs = re.findall(r"\[llmsweep\.metrics\]\[INFO\] - step (\d+): \{\"loss\": .*\"rewards/margins\"", log)
    assert [int(s) for s in train_logs] == [2, 4]  # one record per logging step, with the DPO metrics
