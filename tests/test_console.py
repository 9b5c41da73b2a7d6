"""The console shows a run's progress and results; library warnings, Python warnings and the trainer's metric
dicts go to the run's log file (train.log) only."""

from __future__ import annotations

import re

from helpers import read_metrics, run_cli

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


def test_a_two_process_run_keeps_the_same_console_and_its_ranks_log_to_the_job_log(cache_dir, tmp_path):
    """torchrun's ranks are separate processes that Hydra did not configure: they route their records as the job
    does, rank 0's results reach the console once, and W&B's banner and summary are one line of ours."""
    run_dir = tmp_path / "run"
    args = ("distributed=ddp", "devices.per_node=2", "trainer.max_steps=2", "trainer.eval_steps=2")
    proc = run_cli(cache_dir, *args, "generate.num_prompts=1", "generate.max_new_tokens=4", out=run_dir)
    console = proc.stdout + proc.stderr
    for what, pattern in NOISE.items():
        assert not found(pattern, console), f"{what} on the console:\n{console[-3000:]}"
    assert "wandb:" not in console, console[-3000:]
    assert len(re.findall(r"W&B run \w+: offline; upload it with: wandb sync ", proc.stdout)) == 1
    assert proc.stdout.count("outputs in") == 1, "rank 1 does not repeat rank 0's results"
    log = (run_dir / "train.log").read_text(encoding="utf-8")
    for rank in (0, 1):
        assert f"[rank {rank}][bitsandbytes" in log or f"[rank {rank}][py.warnings][WARNING]" in log, log[-3000:]
    assert re.search(r"\[rank 0\]\[llmsweep\.metrics\]\[INFO\] - step 2: ", log)
