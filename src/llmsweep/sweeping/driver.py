"""The sweep loop: keep `n_workers` trials in flight and start the next as soon as any finishes.

Each trial is a normal Hydra job (own run dir, own W&B run) launched through the configured launcher
as a batch of one from its own thread, so any launcher works (in-process for one worker, submitit
processes locally or on SLURM for several). The study lives in shared storage: re-running with the
same study name tops it up to `n_trials` finished trials, and jobs report to it for pruning.

Stopping an in-process sweep (Ctrl-C, or SIGTERM/SIGUSR1/2 outside SLURM): the running trial stops at the end of
its step with a checkpoint and is recorded FAIL with the user attrs `interrupted` and `checkpoint`; trials that
finished are recorded as they ended. The sweep exits with one line: re-running the same command continues the
interrupted trial in its run dir from its checkpoint (a new trial, `retry_of` it, with the same params) and tops
the study up. On SLURM a scheduler's signal instead leaves the trial RUNNING for the requeued job to adopt.
"""

from __future__ import annotations

import json
import logging
import math
import os
import shlex
import sys
import threading
import warnings
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from pathlib import Path

import optuna
from hydra.core.utils import JobStatus
from omegaconf import DictConfig, OmegaConf
from optuna.trial import TrialState

from llmsweep.errors import UserError
from llmsweep.sweeping import launchers
from llmsweep.sweeping.optuna_internals import trial_handle, trial_id
from llmsweep.sweeping.retention import Retention
from llmsweep.sweeping.space import split
from llmsweep.sweeping.study import make_pruner, make_sampler, make_storage, storage_url
from llmsweep.tracking import secrets
from llmsweep.training import preemption

log = logging.getLogger(__name__)
RETRY_OF = "retry_of"  # user attr: the number of the died trial a retry replaces (that one no longer counts)
SURPLUS = "surplus"  # user attr on a trial asked after other processes had filled n_trials (never run)
SLURM_JOB = "slurm_job"  # user attr: the SLURM job (a sweep worker) running the trial in-process
INTERRUPTED = "interrupted"  # user attr: the trial stopped with a checkpoint on a signal nobody requeues
CONTINUES = "continues"  # user attr: the run dir (with its checkpoint) of the interrupted trial a retry continues
STORAGE_ENV = "LLMSWEEP_STUDY_STORAGE"  # a storage URL with a password reaches jobs through the environment


def counted(trials) -> list:
    """Trials that count toward n_trials (any state but waiting): not replaced by a retry, not surplus."""
    replaced = {t.user_attrs[RETRY_OF] for t in trials if RETRY_OF in t.user_attrs}
    return [
        t
        for t in trials
        if t.state != TrialState.WAITING and t.number not in replaced and not t.user_attrs.get(SURPLUS)
    ]


def finished(study) -> int:
    return sum(1 for t in counted(study.get_trials(deepcopy=False)) if t.state.is_finished())


def _is_surplus(study, trial, n_trials: int, before: list) -> bool:
    """Several sweep processes can share a study. Trial numbers are handed out atomically by the
    storage, so a trial preceded by n_trials counted trials (running or finished) is one too many.
    `before` is the study as read just before asking: if even counting every trial that could have
    appeared or started since then leaves room, the trial fits without reading the study again
    (the usual case, and the one on every refill's critical path)."""
    could_count = counted(before) + [t for t in before if t.state == TrialState.WAITING]  # waiting ones may start
    unseen = trial.number - 1 - max((t.number for t in before), default=-1)  # asked by others since the read
    if sum(1 for t in could_count if t.number < trial.number) + max(0, unseen) < n_trials:
        return False
    return sum(1 for t in counted(study.get_trials(deepcopy=False)) if t.number < trial.number) >= n_trials


def last_checkpoint(run_dir: str) -> str | None:
    """The trainer's newest checkpoint-N in a run dir (without importing transformers into the sweep process)."""
    found = [p for p in Path(run_dir, "checkpoints").glob("checkpoint-*") if p.name.split("-")[-1].isdigit()]
    return str(max(found, key=lambda p: int(p.name.split("-")[-1]))) if run_dir and found else None


def _retry(study, trial, max_retries: int, why: str) -> None:
    """Re-queue a trial whose worker died, with the same params, unless it is itself a last retry."""
    attempt = trial.user_attrs.get("attempt", 0)
    if attempt >= max_retries:
        log.error("trial %d: %s; no retries left", trial.number, why)
        return
    study.enqueue_trial(trial.params, user_attrs={RETRY_OF: trial.number, "attempt": attempt + 1})
    log.warning("trial %d: %s; re-queued with the same params", trial.number, why)


def _short(key: str) -> str:
    """Last part of a searched key; list indices keep their list's name (merge.weights.0.1 -> weights01)."""
    parts = key.split(".")
    i = len(parts)
    while i > 1 and parts[i - 1].isdigit():
        i -= 1
    return parts[i - 1] + "".join(parts[i:])


def default_study_name(config: DictConfig, space: dict) -> str:
    return f"{config.hydra.job.name}-" + "-".join(_short(k) for k in sorted(space))


def run_sweep(conf: DictConfig, config: DictConfig, launcher, overrides) -> list:
    """Run the sweep `conf` (hydra.sweeper) of the app config `config` through `launcher`; the JobReturns."""
    return Sweep(conf, config, launcher, overrides).run()


class Sweep:
    """One sweep process over one study. `run()`: `adopt()` this SLURM job's trials, then in turn `refill()` the free
    workers and `record()` the trials that ended, until the study has n_trials; then `report()`."""

    def __init__(self, conf: DictConfig, config: DictConfig, launcher, overrides, storage=None) -> None:
        """`storage`: an Optuna storage object to use instead of hydra.sweeper.storage (e.g. in-memory, in tests)."""
        # the driver beats for its trials itself (ask/tell outside Study.optimize)
        warnings.filterwarnings("ignore", message="Heartbeat of storage is supposed to be used with Study.optimize")
        self.conf, self.launcher = conf, launcher
        secrets.guard_logging()  # the storage URL's password, secret-looking overrides: never on the console
        self.space = split(overrides)
        self.in_process = launchers.runs_in_process(launcher)
        launchers.prepare(launcher)
        if conf.n_workers > 1 and self.in_process:
            raise UserError(
                f"hydra.sweeper.n_workers={conf.n_workers} needs a launcher that runs jobs in their own processes: "
                "add hydra/launcher=submitit_local (or a SLURM launcher); this launcher runs one job at a time "
                "in-process."
            )
        self.sweep_dir = Path(config.hydra.sweep.dir)
        self.sweep_dir.mkdir(parents=True, exist_ok=True)
        OmegaConf.save(config, self.sweep_dir / "multirun.yaml")
        self.objective = _objective(conf)
        self.name = conf.study_name or default_study_name(config, self.space.distributions)
        self.url = storage_url(conf) if storage is None else f"<{type(storage).__name__}>"
        self.storage = storage if storage is not None else make_storage(self.url, conf.heartbeat_s, self._on_stale)
        self.study = optuna.create_study(
            study_name=self.name,
            storage=self.storage,
            pruner=make_pruner(conf.pruner),
            directions=_directions(conf),
            load_if_exists=True,
        )
        names = _metric_names(self.objective, config)
        if len(names) == len(self.study.directions):  # the report's axes and trials_dataframe show these names
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                self.study.set_metric_names(names)
        # seeded from the study's state: a continued study proposes new points instead of replaying its first ones
        self.study.sampler = make_sampler(conf.sampler, self.space, len(self.study.get_trials(deepcopy=False)))
        # jobs decide pruning in their own process: they rebuild this pruner from the study's attrs
        self.study.set_user_attr("llmsweep.pruner", OmegaConf.to_container(conf.pruner, resolve=True))
        self.beats = isinstance(self.storage, optuna.storages.RDBStorage) and bool(conf.heartbeat_s)
        self.slurm_job = os.environ.get("SLURM_JOB_ID")
        self.trains = "checkpoint" in config  # its trials stop at a step boundary with a checkpoint on a signal
        self.checkpoint_signals = list(config.checkpoint.signals) if self.trains else ["SIGUSR1", "SIGUSR2", "SIGTERM"]
        self.inflight: dict = {}  # future -> trial
        self.results: list = []
        self.stop_asking = False
        self.interrupted: list[tuple[int, str]] = []  # (trial number, its checkpoint) stopped by a signal in this run
        self.retention = Retention()

    def run(self) -> list:
        stop_beats = threading.Event()
        if self.beats:
            threading.Thread(target=self._beat, args=(stop_beats,), daemon=True).start()
        try:
            with ThreadPoolExecutor(max_workers=self.conf.n_workers) as self.pool:
                self.adopt()
                done: list = []
                while True:
                    self.stop_asking = self.stop_asking or preemption.caught() is not None
                    self.refill()  # first: a free worker starts its next trial before the ended ones are recorded
                    for fut, trial in done:
                        self.record(trial, fut)
                    if not self.inflight and (self.stop_asking or not done):
                        break
                    done = []
                    if self.inflight:
                        ended, _ = wait(self.inflight, return_when=FIRST_COMPLETED)
                        done = [(fut, self.inflight.pop(fut)) for fut in ended]
        finally:
            stop_beats.set()
        if preemption.caught() is not None:
            if self.requeued():
                log.warning("preempted: trials checkpointed; requeueing this sweep worker")
            else:
                print(self.how_to_continue(), file=sys.stderr)
            preemption.hand_over()  # exits
        preemption.stop_listening()
        self.report()
        return self.results

    def adopt(self) -> None:
        """A sweep worker that is itself a SLURM job runs its trials in-process: on a preemption signal they
        checkpoint and the job requeues; the requeued job (same SLURM_JOB_ID) resumes its RUNNING trials.
        Then trials left RUNNING by a sweep process that died are failed (and re-queued by `_on_stale`)."""
        if self.in_process and (self.slurm_job or self.trains):  # trials run in this process's threads
            preemption.listen(self.checkpoint_signals)
        if self.slurm_job and self.in_process:
            running = self.study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
            for frozen in running:
                if frozen.user_attrs.get(SLURM_JOB) == self.slurm_job:
                    log.info(
                        "trial %d: resuming it (this SLURM job %s was requeued while it ran)",
                        frozen.number,
                        self.slurm_job,
                    )
                    self._start(trial_handle(self.study, trial_id(frozen)))
        if self.beats:
            optuna.storages.fail_stale_trials(self.study)
        self.continue_interrupted()
        log.info(
            "study %s (%s): %d of %d trials finished; searching %s",
            self.name,
            self.url,
            finished(self.study),
            self.conf.n_trials,
            ", ".join(self.space.distributions),
        )

    def continue_interrupted(self) -> None:
        """Each interrupted trial not yet continued is queued again with its params; its job runs in the same run
        dir and resumes from the checkpoint there (`_job_overrides`). The retry replaces it in `counted`."""
        trials = self.study.get_trials(deepcopy=False)
        replaced = {t.user_attrs[RETRY_OF] for t in trials if RETRY_OF in t.user_attrs}
        for t in trials:
            if t.state == TrialState.FAIL and t.user_attrs.get(INTERRUPTED) and t.number not in replaced:
                run_dir = t.user_attrs.get("run_dir")
                attrs = {RETRY_OF: t.number, "attempt": t.user_attrs.get("attempt", 0)}
                if run_dir:
                    attrs[CONTINUES] = run_dir
                self.study.enqueue_trial(t.params, user_attrs=attrs)
                log.info("trial %d: continuing it from %s", t.number, t.user_attrs.get("checkpoint") or run_dir)

    def requeued(self) -> bool:
        """A caught signal means the scheduler requeues this process (a SLURM job not stopped by the user)."""
        return bool(self.slurm_job) and not preemption.interrupted()

    def how_to_continue(self) -> str:
        what = (
            "; ".join(f"trial {n} stopped with a checkpoint in {where}" for n, where in self.interrupted)
            or "no trial was running"
        )
        command = shlex.join(["python", *secrets.redact_argv(sys.argv)])
        return (
            f"interrupted: {what}; continue with: {command} (re-running it continues the interrupted trial "
            f"and tops study {self.name} up to {self.conf.n_trials} trials)"
        )

    def refill(self) -> None:
        """Ask for trials until every worker is busy or the study has n_trials. counted() includes every process's
        running trials, so processes sharing a study fill it together."""
        while not self.stop_asking and len(self.inflight) < self.conf.n_workers:
            before = self.study.get_trials(deepcopy=False)
            if len(counted(before)) >= self.conf.n_trials:
                return
            trial = self.study.ask(self.space.distributions)
            if self.slurm_job:
                trial.set_user_attr(SLURM_JOB, self.slurm_job)
            if _is_surplus(self.study, trial, self.conf.n_trials, before):
                trial.set_user_attr(SURPLUS, True)
                self._tell(trial, state=TrialState.FAIL)
                self.stop_asking = True  # other processes sharing the study run the rest
                return
            self._start(trial)
            log.info("trial %d: %s", trial.number, " ".join(f"{k}={v}" for k, v in trial.params.items()))

    def record(self, trial, fut) -> None:
        """Tell the study how the trial ended; then drop the outputs kept only while best."""
        try:
            ret = fut.result()
        except Exception as e:
            if not launchers.lost_job(self.launcher, e):
                raise  # not a lost job but a broken sweep (e.g. a config that does not compose)
            trial.set_user_attr("error", secrets.redact(f"worker died: {type(e).__name__}: {e}")[:2000])
            if self._tell(trial, state=TrialState.FAIL):  # (a used-up grid retries nothing)
                _retry(self.study, trial, self.conf.max_retries, f"worker died ({type(e).__name__})")
            return
        if _record_return(trial, ret, self._tell, requeued=self.requeued()):
            self.results.append(ret)
            if trial.user_attrs.get(INTERRUPTED):
                attrs = trial.user_attrs
                self.interrupted.append((trial.number, attrs["checkpoint"] or f"{attrs['run_dir']} (none saved yet)"))
        self.retention.apply(self.study)

    def report(self) -> None:
        from llmsweep.sweeping.report import print_best, write_plots

        print_best(self.study)
        if self.conf.plots:
            write_plots(self.study, self.sweep_dir)

    def _start(self, trial) -> None:
        overrides = self._job_overrides(trial)
        self.inflight[self.pool.submit(self._launch, trial, overrides)] = trial
        if self.beats:  # after the submit: the job starts while this write commits
            self.storage.record_heartbeat(trial_id(trial))

    def _launch(self, trial, overrides: list[str]):
        return self.launcher.launch([overrides], initial_job_idx=trial.number)[0]

    def _job_overrides(self, trial) -> list[str]:
        name, url = self.name, self.url
        if secrets.url_passwords(url):  # jobs read it from the environment: no override (a job name) carries it
            os.environ[STORAGE_ENV] = url
            url = "${oc.env:" + STORAGE_ENV + "}"
        extra = [
            f"tracking.group={name}",
            f"trial.study_name='{name}'",
            f"trial.storage='{url}'",
            f"trial.number={trial.number}",
            f"trial.trial_id={trial_id(trial)}",
        ]
        continues = trial.user_attrs.get(CONTINUES)
        if continues:  # the job runs in the interrupted trial's run dir and resumes from its checkpoint there
            extra += [f"hydra.sweep.dir='{Path(continues).parent}'", f"hydra.sweep.subdir='{Path(continues).name}'"]
        if self.objective is not None:
            listed = self.objective if isinstance(self.objective, str) else "[" + ",".join(self.objective) + "]"
            extra.append(f"objective={listed}")
        return self.space.fixed + [self.space.override(k, v) for k, v in trial.params.items()] + extra

    def _beat(self, stop: threading.Event) -> None:
        while not stop.wait(self.conf.heartbeat_s):
            for trial in list(self.inflight.values()):
                self.storage.record_heartbeat(trial_id(trial))

    def _on_stale(self, study, trial) -> None:
        _retry(study, trial, self.conf.max_retries, "its sweep process died")

    def _tell(self, trial, *args, **kwargs) -> bool:
        """study.tell; False when that used up the sampler's grid (then this process asks no more trials)."""
        try:
            self.study.tell(trial, *args, **kwargs)
            return True
        except RuntimeError as e:  # GridSampler calls study.stop() once its grid is used up: outside optimize() it
            if "Study.stop" not in str(e):  # raises, after the trial's state is stored
                raise
            log.info("the sampler's grid is exhausted")
            self.stop_asking = True
            return False


def _directions(conf: DictConfig) -> list[str]:
    return list(conf.direction) if OmegaConf.is_list(conf.direction) else [str(conf.direction)]


def _objective(conf: DictConfig):
    """hydra.sweeper.objective as a key or a list of keys (None: the job's own `objective`), one per direction."""
    objective = conf.objective
    if objective is None:
        return None
    objective = list(objective) if OmegaConf.is_list(objective) else str(objective)
    n_obj = len(objective) if isinstance(objective, list) else 1
    if n_obj != len(_directions(conf)):
        raise UserError(
            f"hydra.sweeper.objective has {n_obj} metric(s) but direction has {len(_directions(conf))}: "
            "give one direction per objective"
        )
    return objective


def _metric_names(objective, config: DictConfig) -> list[str]:
    """The objectives' names: hydra.sweeper.objective, else the job config's `objective`."""
    keys = objective if objective is not None else config.get("objective")
    if keys is None:
        return []
    return [str(k) for k in keys] if isinstance(keys, list) or OmegaConf.is_list(keys) else [str(keys)]


def _record_return(trial, ret, tell, requeued: bool = True) -> bool:
    """Record a job that returned (completed or raised); False when it was preempted and stays RUNNING for the
    requeued sweep worker (`requeued`), else it is recorded FAIL as interrupted, with its checkpoint."""
    run_dir = str(ret.hydra_cfg.hydra.runtime.output_dir) if ret.hydra_cfg else ""
    trial.set_user_attr("run_dir", run_dir)
    ledger = Path(run_dir) / "accounting.json"
    if run_dir and ledger.exists():  # the sweep totals device-seconds (GPU-hours) over its trials
        trial.set_user_attr("device_seconds", json.loads(ledger.read_text())["device_seconds"])
    if ret.status == JobStatus.COMPLETED:
        values = ret.return_value
        values = list(values) if isinstance(values, (list, tuple)) else [values]
        if any(v is None or (isinstance(v, float) and math.isnan(v)) for v in values):
            trial.set_user_attr("error", f"objective is {values}")
            tell(trial, state=TrialState.FAIL)
            log.warning("trial %d failed: objective %s", trial.number, values)
        else:
            tell(trial, values if len(values) > 1 else values[0])
        return True
    exc = launchers.job_error(ret)
    if isinstance(exc, preemption.Preempted):
        if requeued:  # stays RUNNING: the requeued sweep worker resumes it
            log.warning("trial %d preempted: %s", trial.number, exc)
            return False
        trial.set_user_attr(INTERRUPTED, True)
        trial.set_user_attr("checkpoint", last_checkpoint(run_dir))
        tell(trial, state=TrialState.FAIL)
        log.warning("trial %d interrupted: %s (run dir %s)", trial.number, exc, run_dir)
        return True
    if isinstance(exc, optuna.TrialPruned):
        tell(trial, state=TrialState.PRUNED)
        log.info("trial %d pruned: %s", trial.number, exc)
    else:
        trial.set_user_attr("error", secrets.redact(f"{type(exc).__name__}: {exc}")[:2000])
        tell(trial, state=TrialState.FAIL)
        log.warning("trial %d failed: %s: %s (run dir %s)", trial.number, type(exc).__name__, exc, run_dir)
    return True
