"""The sweep driver's steps on a real in-memory Optuna study, with a launcher that returns Hydra JobReturns
without running a job: refill, record, surplus and retry accounting, SLURM adoption, retention, seeding."""

from __future__ import annotations

import json
import math
import threading
from pathlib import Path

import optuna
import pytest
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.utils import JobReturn, JobStatus
from omegaconf import OmegaConf
from optuna.storages import InMemoryStorage
from submitit.core.utils import UncompletedJobError

from hydra_plugins.llmsweep_sweeper.config import LlmsweepOptunaConf
from llmsweep.sweeping.driver import Sweep, counted, finished

optuna.logging.set_verbosity(optuna.logging.WARNING)
SPACE = ["x=interval(0.0,1.0)", "y=range(1,9,step=2)"]


class FakeLauncher:
    """A launcher in other processes: a job 'runs' by making its run dir and returning objective(its overrides,
    its trial number); by default the sum of its searched values."""

    runs_in_process = False

    def __init__(self, root: Path, objective=None, die=(), fail=(), keep=None):
        self.root, self.die, self.fail, self.keep = root, set(die), set(fail), keep
        self.objective = objective or (lambda kv, n: sum(float(v) for k, v in kv.items() if "." not in k))
        self.launched: list[dict] = []
        self.lock = threading.Lock()

    def launch(self, job_overrides, initial_job_idx):
        (ovs,) = job_overrides
        kv = dict(o.split("=", 1) for o in ovs)
        n = int(kv["trial.number"])
        with self.lock:
            self.launched.append(kv)
        if n in self.die:  # what the submitit launcher raises when the job's process was killed
            raise UncompletedJobError(f"job {n} has not produced any output")
        run_dir = self.root / str(n)
        run_dir.mkdir(parents=True)
        if self.keep:
            (run_dir / "merged").mkdir()
            (run_dir / "keep_if_best.json").write_text(json.dumps(self.keep))
        ret = JobReturn(overrides=ovs, hydra_cfg=OmegaConf.create({"hydra": {"runtime": {"output_dir": str(run_dir)}}}))
        if n in self.fail:
            ret.status, ret.return_value = JobStatus.FAILED, ValueError(f"trial {n} broke")
        else:
            ret.status, ret.return_value = JobStatus.COMPLETED, self.objective(kv, n)
        return [ret]


def sweep(tmp_path, storage, launcher=None, space=SPACE, **conf):
    conf = OmegaConf.merge(
        OmegaConf.structured(LlmsweepOptunaConf), {"study_name": "s", "plots": False, "n_trials": 4, **conf}
    )
    config = OmegaConf.create({"hydra": {"sweep": {"dir": str(tmp_path)}, "job": {"name": "t"}}})
    launcher = launcher or FakeLauncher(tmp_path / "runs")
    s = Sweep(conf, config, launcher, OverridesParser.create().parse_overrides(list(space)), storage=storage)
    return s, s.run(), launcher


def numbers(launcher) -> list[int]:
    return sorted(int(kv["trial.number"]) for kv in launcher.launched)


def by_number(launcher) -> list[dict]:
    return sorted(launcher.launched, key=lambda kv: int(kv["trial.number"]))


def test_refill_and_record_run_n_trials_with_several_workers(tmp_path):
    s, results, launcher = sweep(tmp_path, InMemoryStorage(), n_trials=5, n_workers=2)
    ts = s.study.get_trials()
    assert [t.state.name for t in ts] == ["COMPLETE"] * 5 and len(results) == 5 and numbers(launcher) == [0, 1, 2, 3, 4]
    for t, kv in zip(ts, by_number(launcher), strict=True):
        assert t.user_attrs["run_dir"] == str(tmp_path / "runs" / str(t.number))
        assert t.value == pytest.approx(float(kv["x"]) + int(kv["y"]))
        assert int(kv["y"]) in (1, 3, 5, 7) and t.params["y"] == int(kv["y"])
    # a second process (or a re-run) with the same n_trials finds the study full and runs nothing
    _, again, other = sweep(tmp_path / "again", s.storage, n_trials=5)
    assert again == [] and other.launched == []


class RacingStorage(InMemoryStorage):
    """Another sweep process asks a trial between this process's pre-ask read and its ask, at ask number `race_at`."""

    def __init__(self, race_at: int):
        super().__init__()
        self.race_at, self.calls, self.others = race_at, 0, []

    def create_new_trial(self, study_id, template_trial=None):
        self.calls += 1
        if self.calls == self.race_at:
            self.others.append(super().create_new_trial(study_id))
        return super().create_new_trial(study_id, template_trial)


def test_a_trial_asked_after_another_process_filled_the_study_is_surplus_and_never_runs(tmp_path):
    storage = RacingStorage(race_at=3)
    s, results, launcher = sweep(tmp_path, storage, n_trials=3, n_workers=3)
    ts = s.study.get_trials()
    assert len(storage.others) == 1 and ts[2].state.name == "RUNNING", "the other process's trial is trial 2"
    assert numbers(launcher) == [0, 1], "this process ran two trials; the other one runs the third"
    (extra,) = [t for t in ts if t.user_attrs.get("surplus")]
    assert extra.number == 3 and extra.state.name == "FAIL" and "run_dir" not in extra.user_attrs
    assert len(counted(ts)) == 3 and len(results) == 2


def test_trials_another_process_runs_count_toward_n_trials(tmp_path):
    storage = InMemoryStorage()
    study = optuna.create_study(study_name="s", storage=storage)
    study.ask()  # RUNNING in another process
    s, _, launcher = sweep(tmp_path, storage, n_trials=3)
    assert numbers(launcher) == [1, 2] and finished(s.study) == 2


def test_a_trial_whose_worker_died_is_retried_once_with_its_params_and_counted_once(tmp_path):
    launcher = FakeLauncher(tmp_path / "runs", die={0})
    s, results, _ = sweep(tmp_path, InMemoryStorage(), launcher, n_trials=2)
    ts = s.study.get_trials()
    assert [t.state.name for t in ts] == ["FAIL", "COMPLETE", "COMPLETE"]
    assert "worker died" in ts[0].user_attrs["error"]
    # the free worker starts trial 1 before trial 0 is recorded; recording it queues the retry, trial 2
    assert ts[2].user_attrs["retry_of"] == 0 and ts[2].params == ts[0].params
    assert numbers(launcher) == [0, 1, 2] and len(results) == 2 and finished(s.study) == 2


def test_a_retry_that_dies_too_is_not_retried_again(tmp_path):
    launcher = FakeLauncher(tmp_path / "runs", die={0, 2})
    s, _, _ = sweep(tmp_path, InMemoryStorage(), launcher, n_trials=2, max_retries=1)
    ts = s.study.get_trials()
    assert [t.state.name for t in ts] == ["FAIL", "COMPLETE", "FAIL"]
    assert [t.user_attrs.get("retry_of") for t in ts] == [None, None, 0], "trial 2 retries 0 and dies: no trial 3"
    assert [t.number for t in counted(ts)] == [1, 2] and finished(s.study) == 2


def test_a_failed_job_is_recorded_and_an_error_of_the_sweep_itself_stops_it(tmp_path):
    s, _, _ = sweep(tmp_path, InMemoryStorage(), FakeLauncher(tmp_path / "runs", fail={1}), n_trials=3)
    assert [t.state.name for t in s.study.get_trials()] == ["COMPLETE", "FAIL", "COMPLETE"]
    assert "trial 1 broke" in s.study.trials[1].user_attrs["error"]

    class Broken(FakeLauncher):
        def launch(self, job_overrides, initial_job_idx):
            raise KeyError("a config that does not compose")

    with pytest.raises(KeyError):
        sweep(tmp_path / "b", InMemoryStorage(), Broken(tmp_path / "b" / "runs"))


def test_a_requeued_slurm_worker_adopts_its_running_trials(tmp_path, monkeypatch):
    from llmsweep.training import preemption

    storage = InMemoryStorage()
    study = optuna.create_study(study_name="s", storage=storage)
    mine = study.ask({"x": optuna.distributions.FloatDistribution(0, 1)})
    mine.set_user_attr("slurm_job", "42")
    theirs = study.ask({"x": optuna.distributions.FloatDistribution(0, 1)})
    theirs.set_user_attr("slurm_job", "7")
    monkeypatch.setenv("SLURM_JOB_ID", "42")

    class InProcess(FakeLauncher):
        runs_in_process = True

    try:
        s, _, launcher = sweep(
            tmp_path, storage, InProcess(tmp_path / "runs"), space=["x=interval(0.0,1.0)"], n_trials=3, objective=None
        )
    finally:
        preemption.stop_listening()
    assert numbers(launcher) == [0, 2], "trial 0 resumed, trial 1 left to SLURM job 7, one new trial"
    assert float(launcher.launched[0]["x"]) == mine.params["x"]
    assert [t.state.name for t in s.study.get_trials()] == ["COMPLETE", "RUNNING", "COMPLETE"]


def test_an_interrupted_trial_is_recorded_failed_and_the_next_run_continues_it_in_its_run_dir(tmp_path):
    """A trial stopped by a signal nobody requeues (no SLURM): FAIL with `interrupted` and its checkpoint; the next
    sweep of the study runs it again with its params, in its run dir (where the checkpoint is), counted once."""
    from llmsweep.training.preemption import Preempted

    class Interrupted(FakeLauncher):
        def launch(self, job_overrides, initial_job_idx):
            (ret,) = super().launch(job_overrides, initial_job_idx)
            run_dir = Path(ret.hydra_cfg.hydra.runtime.output_dir)
            if run_dir.name == "1":
                (run_dir / "checkpoints" / "checkpoint-7").mkdir(parents=True)
                ret.status, ret.return_value = JobStatus.FAILED, Preempted("checkpointed at step 7")
            return [ret]

    storage = InMemoryStorage()
    s, _, _ = sweep(tmp_path / "a", storage, Interrupted(tmp_path / "a" / "runs"), n_trials=2)
    first, cut = s.study.get_trials()
    assert (first.state.name, cut.state.name) == ("COMPLETE", "FAIL")
    assert cut.user_attrs["interrupted"] and cut.user_attrs["checkpoint"].endswith("runs/1/checkpoints/checkpoint-7")
    assert s.interrupted == [(1, cut.user_attrs["checkpoint"])]

    s2, _, launcher = sweep(tmp_path / "b", storage, n_trials=2)
    (kv,) = launcher.launched
    assert kv["hydra.sweep.dir"] == f"'{tmp_path / 'a' / 'runs'}'" and kv["hydra.sweep.subdir"] == "'1'"
    assert (float(kv["x"]), int(kv["y"])) == (cut.params["x"], cut.params["y"])
    assert [t.state.name for t in s2.study.get_trials()] == ["COMPLETE", "FAIL", "COMPLETE"]
    assert finished(s2.study) == 2 and s2.study.get_trials()[2].user_attrs["retry_of"] == 1


def test_an_in_process_launcher_refuses_several_workers(tmp_path):
    from hydra._internal.core_plugins.basic_launcher import BasicLauncher

    from llmsweep.errors import UserError
    from llmsweep.sweeping.launchers import runs_in_process

    assert runs_in_process(BasicLauncher()) and not runs_in_process(FakeLauncher(tmp_path))
    with pytest.raises(UserError, match="n_workers=2 needs a launcher that runs jobs in their own processes"):
        sweep(tmp_path, InMemoryStorage(), BasicLauncher(), n_workers=2)


def test_only_the_best_trial_keeps_its_keep_if_best_outputs(tmp_path):
    values = {0: 3.0, 1: 1.0, 2: 2.0, 3: 0.5, 4: 4.0}
    launcher = FakeLauncher(tmp_path / "runs", objective=lambda kv, n: values[n], fail={5}, keep=["merged"])
    s, _, _ = sweep(tmp_path, InMemoryStorage(), launcher, n_trials=6)
    kept = sorted(int(p.parent.name) for p in (tmp_path / "runs").glob("*/merged"))
    assert kept == [3] and s.study.best_trial.number == 3, "failed trial 5 and beaten trials 0, 1, 2, 4 lost theirs"
    assert all((tmp_path / "runs" / str(n) / "keep_if_best.json").exists() for n in range(6))


def test_several_objectives_keep_every_output(tmp_path):
    launcher = FakeLauncher(
        tmp_path / "runs", objective=lambda kv, n: (float(kv["x"]), -float(kv["x"])), keep=["merged"]
    )
    sweep(tmp_path, InMemoryStorage(), launcher, n_trials=3, direction=["minimize", "minimize"], objective=["a", "b"])
    assert len(list((tmp_path / "runs").glob("*/merged"))) == 3


def test_retention_deletes_only_inside_the_run_dir(tmp_path):
    from llmsweep.sweeping.retention import discard

    run_dir = tmp_path / "run"
    (run_dir / "merged").mkdir(parents=True)
    (run_dir / "answers.jsonl").write_text("{}\n")
    (tmp_path / "outside").mkdir()
    (run_dir / "keep_if_best.json").write_text(json.dumps(["merged", "answers.jsonl", "../outside", ".", "gone"]))
    discard(run_dir)
    assert sorted(p.name for p in run_dir.iterdir()) == ["keep_if_best.json"] and (tmp_path / "outside").is_dir()


@pytest.mark.parametrize("sampler", ["tpe", "random", "cmaes"])
def test_a_continued_study_proposes_new_points_and_a_new_one_replays_its_seed(tmp_path, sampler):
    space = ["x=interval(0.0,1.0)", "z=interval(-1.0,1.0)"]
    storage = InMemoryStorage()
    sweep(tmp_path / "a", storage, space=space, n_trials=2, sampler={"name": sampler})
    s, _, _ = sweep(tmp_path / "b", storage, space=space, n_trials=4, sampler={"name": sampler})
    points = [tuple(t.params.values()) for t in s.study.get_trials()]
    assert len(points) == 4 and not set(points[2:]) & set(points[:2]), points
    fresh, _, _ = sweep(tmp_path / "c", InMemoryStorage(), space=space, n_trials=2, sampler={"name": sampler})
    assert [tuple(t.params.values()) for t in fresh.study.get_trials()] == points[:2], "same seed, same first points"


def test_range_spaces_become_stepped_distributions_and_jobs_get_hydras_values(tmp_path):
    from optuna.distributions import FloatDistribution, IntDistribution

    space = ["r=range(8,33,step=8)", "f=range(0.1,0.5,0.1)", "g=range(0.0,1.0,0.05)", "d=range(10,0,-2)"]
    parsed = OverridesParser.create().parse_overrides(space)
    hydra_values = {o.get_key_element(): sorted(o.sweep_iterator()) for o in parsed}
    s, _, launcher = sweep(tmp_path, InMemoryStorage(), space=space, n_trials=12, sampler={"name": "random"})
    assert s.space.distributions == {
        "r": IntDistribution(8, 32, step=8),
        "f": FloatDistribution(0.1, 0.4, step=0.1),
        "g": FloatDistribution(0.0, 0.95, step=0.05),
        "d": IntDistribution(2, 10, step=2),
    }
    for kv in launcher.launched:
        for key, values in hydra_values.items():
            assert type(values[0])(kv[key]) in values, (key, kv[key])
    assert {float(kv["g"]) for kv in launcher.launched} - set(hydra_values["g"]) == set()
    assert s.space.grid()["g"] == hydra_values["g"]
    for t, kv in zip(s.study.get_trials(), by_number(launcher), strict=True):
        assert math.isclose(t.params["g"], float(kv["g"]), abs_tol=1e-12)


def test_a_grid_over_ranges_visits_hydras_values(tmp_path):
    _, _, launcher = sweep(
        tmp_path,
        InMemoryStorage(),
        space=["y=range(1,9,step=2)", "f=range(0.1,0.3,0.1)"],
        n_trials=20,
        sampler={"name": "grid"},
    )
    seen = [(int(kv["y"]), float(kv["f"])) for kv in launcher.launched]
    assert set(seen) == {(y, f) for y in (1, 3, 5, 7) for f in (0.1, 0.2)}
    # the refill asks before the last trial is recorded: Optuna's GridSampler then repeats a point once, as it does
    # for parallel workers; it stops the study when it records the last point
    assert len(seen) <= 9


def test_samplers_and_pruners_share_one_rule_for_kwargs(caplog):
    """A key no sampler (pruner) takes is an error naming it; one that another sampler (pruner) takes is dropped
    with a warning, so a sweep file's pruner settings survive pruner.name=none on the command line."""
    from llmsweep.errors import UserError
    from llmsweep.sweeping.space import split
    from llmsweep.sweeping.study import make_pruner, make_sampler

    space = split(OverridesParser.create().parse_overrides(SPACE))
    conf = OmegaConf.structured(LlmsweepOptunaConf)
    median_kwargs = {"n_warmup_steps": 2, "min_resource": 1, "n_startup_trials": 1}
    assert isinstance(
        make_pruner(OmegaConf.merge(conf.pruner, {"name": "median", "kwargs": {"n_warmup_steps": 2}})),
        optuna.pruners.MedianPruner,
    )
    hyperband = make_pruner(OmegaConf.merge(conf.pruner, {"name": "hyperband", "kwargs": median_kwargs}))
    assert isinstance(hyperband, optuna.pruners.HyperbandPruner)
    assert "['n_startup_trials', 'n_warmup_steps'] do not apply to HyperbandPruner" in caplog.text
    random = make_sampler(OmegaConf.merge(conf.sampler, {"name": "random", "kwargs": {"n_startup_trials": 3}}), space)
    assert isinstance(random, optuna.samplers.RandomSampler)
    assert "['n_startup_trials'] do not apply to RandomSampler" in caplog.text
    with pytest.raises(
        UserError,
        match=r"pruner.kwargs n_warmup_step: not a parameter of any pruner \(pruner.name="
        r"median takes .*n_warmup_steps.*remove it with "
        r"~hydra.sweeper.pruner.kwargs.n_warmup_step$",
    ):
        make_pruner(OmegaConf.merge(conf.pruner, {"name": "median", "kwargs": {"n_warmup_step": 2}}))
    with pytest.raises(UserError, match=r"sampler.kwargs n_startup: not a parameter of any sampler"):
        make_sampler(OmegaConf.merge(conf.sampler, {"kwargs": {"n_startup": 3}}), space)
    with pytest.raises(UserError, match=r"sampler.kwargs.seed: set by llmsweep .*\(use hydra.sweeper.sampler.seed\)"):
        make_sampler(OmegaConf.merge(conf.sampler, {"kwargs": {"seed": 1}}), space)
    with pytest.raises(UserError, match=r"pruner.name=medain is not known: use one of none, median, hyperband"):
        make_pruner(OmegaConf.merge(conf.pruner, {"name": "medain"}))
