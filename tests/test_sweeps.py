"""The llmsweep_optuna sweeper through the real CLI: async workers, resume, failures, retries, pruning."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path

import optuna
import pytest

from helpers import REPO, read_metrics, run_cli
from llmsweep.tracking.offline import offline_runs, read_run

FAST = ["trainer.max_steps=10", "trainer.eval_steps=5", "generate.num_prompts=2"]
PREFS = REPO / "src" / "llmsweep" / "data" / "samples" / "prefs_ko.jsonl"


def trials(db: Path, name: str) -> list:
    return optuna.load_study(study_name=name, storage=f"sqlite:///{db}").get_trials(deepcopy=False)


def test_async_sweep_runs_n_trials_then_resumes_to_the_new_total(cache_dir, tmp_path):
    db = tmp_path / "optuna.db"
    common = [
        "-m",
        "+sweeps=dpo_beta",
        "hydra/launcher=submitit_local",
        "hydra.sweeper.n_workers=2",
        "hydra.sweeper.study_name=beta",
        f"hydra.sweeper.storage=sqlite:///{db}",
        *FAST,
    ]
    proc = run_cli(cache_dir, *common, "hydra.sweeper.n_trials=4", out=tmp_path / "s1")
    first = trials(db, "beta")
    assert len(first) == 4 and all(t.state.name == "COMPLETE" for t in first)
    assert "best trial:" in proc.stdout and "method.args.beta=" in proc.stdout
    for t in first:
        run_dir = Path(t.user_attrs["run_dir"])
        assert run_dir.parent == tmp_path / "s1" and run_dir.name == str(t.number)
        assert read_metrics(run_dir)["objective"] == pytest.approx(t.value)
        (wb,) = offline_runs(run_dir)
        assert list(wb.glob("run-*.wandb"))
    assert (tmp_path / "s1" / "optimization_history.html").exists()
    assert (tmp_path / "s1" / "optimization_history.png").exists()

    run_cli(cache_dir, *common, "hydra.sweeper.n_trials=6", out=tmp_path / "s2")
    again = trials(db, "beta")
    assert len(again) == 6, "n_trials counts the study's finished trials: only 2 new ones ran"
    assert sorted(t.number for t in again if Path(t.user_attrs["run_dir"]).parent == tmp_path / "s2") == [4, 5]


def test_a_failing_trial_is_recorded_and_the_sweep_goes_on(cache_dir, tmp_path):
    db = tmp_path / "optuna.db"
    run_cli(
        cache_dir,
        "-m",
        "hydra/sweeper=llmsweep_optuna",
        "method=dpo",
        "hydra.sweeper.sampler.name=grid",
        "hydra.sweeper.n_trials=2",
        "hydra.sweeper.study_name=fails",
        f"hydra.sweeper.storage=sqlite:///{db}",
        f"data.path=choice({PREFS},{tmp_path}/missing.jsonl)",
        "tracking=none",
        *FAST,
        out=tmp_path / "s",
    )
    by_state = {t.state.name: t for t in trials(db, "fails")}
    assert set(by_state) == {"COMPLETE", "FAIL"}
    assert "missing.jsonl" in by_state["FAIL"].user_attrs["error"]
    assert "missing.jsonl" in by_state["FAIL"].params["data.path"]


def _children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            child = int(stat.parent.name)
            out += [child, *_children(child)]
    return out


def test_a_worker_killed_mid_trial_is_retried_once_and_counted_once(cache_dir, tmp_path):
    db = tmp_path / "optuna.db"
    sweep = tmp_path / "s"
    killed: list[int] = []

    def kill_first_job():
        deadline = time.time() + 300
        while time.time() < deadline and not killed:
            jobs = (
                [p for p in (sweep / ".submitit").glob("[0-9]*") if p.is_dir()]
                if (sweep / ".submitit").exists()
                else []
            )
            if jobs:
                time.sleep(3)  # mid-trial: the job is importing or training
                pid = int(jobs[0].name)
                for p in [pid, *_children(pid)]:
                    try:
                        os.kill(p, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                killed.append(pid)
            time.sleep(0.2)

    killer = threading.Thread(target=kill_first_job, daemon=True)
    killer.start()
    run_cli(
        cache_dir,
        "-m",
        "+sweeps=dpo_beta",
        "hydra/launcher=submitit_local",
        "hydra.sweeper.n_trials=2",
        "hydra.sweeper.study_name=killed",
        f"hydra.sweeper.storage=sqlite:///{db}",
        "tracking=none",
        *FAST,
        out=sweep,
    )
    killer.join(timeout=5)
    assert killed, "the test never saw a job to kill"
    ts = trials(db, "killed")
    retry = [t for t in ts if "retry_of" in t.user_attrs]
    assert len(retry) == 1 and retry[0].state.name == "COMPLETE"
    (died,) = [t for t in ts if t.number == retry[0].user_attrs["retry_of"]]
    assert died.state.name == "FAIL" and "worker died" in died.user_attrs["error"]
    assert retry[0].params == died.params
    assert sum(t.state.name == "COMPLETE" for t in ts) == 2 and len(ts) == 3


def test_median_pruner_stops_bad_trials_early(cache_dir, tmp_path):
    db = tmp_path / "optuna.db"
    run_cli(
        cache_dir,
        "-m",
        "+sweeps=lora_rank",
        "hydra.sweeper.n_trials=6",
        "hydra.sweeper.study_name=prune",
        f"hydra.sweeper.storage=sqlite:///{db}",
        "hydra.sweeper.sampler.name=grid",
        "hydra.sweeper.pruner.name=median",
        "+hydra.sweeper.pruner.kwargs.n_startup_trials=2",
        "+hydra.sweeper.pruner.kwargs.n_warmup_steps=0",
        # half the space is clearly bad: a learning rate too small to move the loss
        "method.args.learning_rate=choice(0.003,0.0000001)",
        "method.lora.r=choice(4,8,16)",
        "method.lora.lora_alpha=16",
        "method.lora.lora_dropout=0.0",
        "trainer.max_steps=30",
        "trainer.eval_steps=5",
        "generate.num_prompts=2",
        out=tmp_path / "s",
    )
    ts = trials(db, "prune")
    pruned = [t for t in ts if t.state.name == "PRUNED"]
    complete = [t for t in ts if t.state.name == "COMPLETE"]
    assert pruned and complete
    bad = [t for t in ts if t.params["method.args.learning_rate"] < 1e-5]
    assert sum(t.state.name == "PRUNED" for t in bad) >= len(bad) - 2, (
        "bad trials are pruned (the first ones set the median)"
    )
    steps = {t.number: read_metrics(Path(t.user_attrs["run_dir"]))["global_step"] for t in ts}
    assert max(steps[t.number] for t in pruned) < min(steps[t.number] for t in complete) == 30
    assert all(read_metrics(Path(t.user_attrs["run_dir"]))["pruned"] for t in pruned)
    (wb,) = offline_runs(Path(pruned[0].user_attrs["run_dir"]))
    summary = read_run(wb)["summary"]
    assert summary["pruned"] is True and summary["trial_state"] == "PRUNED", "the W&B run says it was pruned"


def test_two_objectives_end_with_the_pareto_front(cache_dir, tmp_path):
    db = tmp_path / "optuna.db"
    proc = run_cli(
        cache_dir,
        "-m",
        "+sweeps=lora_rank",
        "hydra.sweeper.n_trials=3",
        "hydra.sweeper.study_name=pareto",
        f"hydra.sweeper.storage=sqlite:///{db}",
        "hydra.sweeper.sampler.name=nsga2",
        "hydra.sweeper.pruner.name=none",
        "hydra.sweeper.direction=[minimize,minimize]",
        "hydra.sweeper.objective=[eval_loss,train_runtime]",
        "tracking=none",
        *FAST,
        out=tmp_path / "s",
    )
    ts = trials(db, "pareto")
    assert len(ts) == 3 and all(t.state.name == "COMPLETE" and len(t.values) == 2 for t in ts)
    assert "Pareto front:" in proc.stdout
    for t in ts:
        m = read_metrics(Path(t.user_attrs["run_dir"]))
        assert t.values == [m["eval_loss"], m["train_runtime"]]
    assert (tmp_path / "s" / "pareto_front.html").exists()


def test_two_sweep_processes_share_one_postgresql_study(cache_dir, tmp_path, postgres_url):
    import subprocess
    import sys

    from helpers import cli_env

    args = [
        "-m",
        "+sweeps=dpo_beta",
        "hydra.sweeper.n_trials=4",
        "hydra.sweeper.study_name=shared",
        f"hydra.sweeper.storage={postgres_url}",
        "tracking=none",
        *FAST,
    ]
    procs = [
        subprocess.Popen(
            [sys.executable, "train.py", *args, f"hydra.sweep.dir={tmp_path / f's{i}'}"],
            cwd=REPO,
            env=cli_env(cache_dir),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    outs = [p.communicate(timeout=600) for p in procs]
    for p, (_out, err) in zip(procs, outs):
        assert p.returncode == 0, err[-3000:]
    ts = optuna.load_study(study_name="shared", storage=postgres_url).get_trials(deepcopy=False)
    ran = [t for t in ts if not t.user_attrs.get("surplus")]
    assert len(ran) == 4 and all(t.state.name == "COMPLETE" for t in ran)
    assert {Path(t.user_attrs["run_dir"]).parent.name for t in ran} == {"s0", "s1"}, "both processes ran trials"
    assert all("run_dir" not in t.user_attrs for t in ts if t.user_attrs.get("surplus")), "a surplus trial never runs"


def test_a_trial_left_running_by_a_dead_sweep_is_failed_and_retried(cache_dir, tmp_path):
    """A sweep process that died left trial 0 RUNNING; the next sweep of the study sees its heartbeat
    stop, records it FAIL and re-runs its params once, so it is counted once."""
    from optuna.distributions import FloatDistribution

    from llmsweep.sweeping.study import make_storage

    db = tmp_path / "optuna.db"
    storage = make_storage(f"sqlite:///{db}", heartbeat_s=1)
    study = optuna.create_study(study_name="stale", storage=storage)
    orphan = study.ask({"method.args.beta": FloatDistribution(0.01, 0.5, log=True)})
    storage.record_heartbeat(orphan._trial_id)
    time.sleep(4)  # > 3 heartbeats of silence
    run_cli(
        cache_dir,
        "-m",
        "hydra/sweeper=llmsweep_optuna",
        "method=dpo",
        "hydra.sweeper.heartbeat_s=1",
        "hydra.sweeper.n_trials=1",
        "hydra.sweeper.study_name=stale",
        f"hydra.sweeper.storage=sqlite:///{db}",
        "method.args.beta=tag(log,interval(0.01,0.5))",
        "tracking=none",
        *FAST,
        out=tmp_path / "s",
    )
    ts = trials(db, "stale")
    assert [t.state.name for t in ts] == ["FAIL", "COMPLETE"]
    assert ts[1].user_attrs["retry_of"] == 0 and ts[1].params == ts[0].params


def test_optuna_dashboard_opens_a_sweep_storage(tmp_path):
    """The README's `optuna-dashboard <storage url>` serves the study a sweep wrote."""
    import shutil
    import socket
    import subprocess
    import sys
    import urllib.request

    url = f"sqlite:///{tmp_path / 'optuna.db'}"
    study = optuna.create_study(study_name="dash", storage=url)
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=3)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    exe = shutil.which("optuna-dashboard", path=str(Path(sys.executable).parent))
    assert exe, "optuna-dashboard is installed with the package"
    proc = subprocess.Popen(
        [exe, url, "--host", "127.0.0.1", "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                body = urllib.request.urlopen(f"http://127.0.0.1:{port}/api/studies", timeout=5).read()
                break
            except OSError:
                assert time.monotonic() < deadline and proc.poll() is None, "the dashboard did not come up"
                time.sleep(0.2)
        assert [s["study_name"] for s in json.loads(body)["study_summaries"]] == ["dash"]
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_surplus_check_sees_trials_other_processes_asked_after_the_pre_ask_read():
    # the driver's cheap path decides from the study as read before asking; trials that other processes
    # asked (or started from the waiting queue) after that read must still make our trial surplus
    import optuna

    from llmsweep.sweeping.driver import _is_surplus

    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    before = study.get_trials(deepcopy=False)
    mine = study.ask()
    assert not _is_surplus(study, mine, 1, before)  # nothing precedes it

    before = study.get_trials(deepcopy=False)
    study.ask()  # another process fills the second slot between our read and our ask
    assert _is_surplus(study, study.ask(), 2, before)

    study.enqueue_trial({})  # a retry waiting in the queue when we read...
    before = study.get_trials(deepcopy=False)
    study.ask()  # ...is started by another process
    assert _is_surplus(study, study.ask(), 4, before)
    assert not _is_surplus(study, study.ask(), 10, before)
