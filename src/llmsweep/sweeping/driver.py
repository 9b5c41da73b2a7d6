"""The sweep loop: keep `n_workers` trials in flight and start the next as soon as any finishes.

Each trial is a normal Hydra job (own run dir, own W&B run) launched through the configured launcher
as a batch of one from its own thread, so any launcher works (in-process for one worker, submitit
processes locally or on SLURM for several). The study lives in shared storage: re-running with the
same study name tops it up to `n_trials` finished trials, and jobs report to it for pruning.
"""

from __future__ import annotations

import json
import logging
import math
import os
import threading
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from llmsweep.errors import UserError
from llmsweep.training import preemption
from llmsweep.sweeping.space import as_override, split
from llmsweep.sweeping.study import make_pruner, make_sampler, make_storage, storage_url

log = logging.getLogger(__name__)
RETRY_OF = "retry_of"  # user attr: the number of the died trial a retry replaces (that one no longer counts)
SURPLUS = "surplus"  # user attr on a trial asked after other processes had filled n_trials (never run)
SLURM_JOB = "slurm_job"  # user attr: the SLURM job (a sweep worker) running the trial in-process


def counted(trials) -> list:
    """Trials that count toward n_trials (any state but waiting): not replaced by a retry, not surplus."""
    from optuna.trial import TrialState

    replaced = {t.user_attrs[RETRY_OF] for t in trials if RETRY_OF in t.user_attrs}
    return [t for t in trials if t.state != TrialState.WAITING and t.number not in replaced and not t.user_attrs.get(SURPLUS)]


def finished(study) -> int:
    return sum(1 for t in counted(study.get_trials(deepcopy=False)) if t.state.is_finished())


def _is_surplus(study, trial, n_trials: int, before: list) -> bool:
    """Several sweep processes can share a study. Trial numbers are handed out atomically by the
    storage, so a trial preceded by n_trials counted trials (running or finished) is one too many.
    `before` is the study as read just before asking: if even counting every trial that could have
    appeared or started since then leaves room, the trial fits without reading the study again
    (the usual case, and the one on every refill's critical path)."""
    from optuna.trial import TrialState

    could_count = counted(before) + [t for t in before if t.state == TrialState.WAITING]  # waiting ones may start
    unseen = trial.number - 1 - max((t.number for t in before), default=-1)  # asked by others since the read
    if sum(1 for t in could_count if t.number < trial.number) + max(0, unseen) < n_trials:
        return False
    return sum(1 for t in counted(study.get_trials(deepcopy=False)) if t.number < trial.number) >= n_trials


def _retry(study, trial, max_retries: int, why: str) -> None:
    """Re-queue a trial whose worker died, with the same params, unless it is itself a last retry."""
    attempt = trial.user_attrs.get("attempt", 0)
    if attempt >= max_retries:
        log.error("trial %d: %s; no retries left", trial.number, why)
        return
    study.enqueue_trial(trial.params, user_attrs={RETRY_OF: trial.number, "attempt": attempt + 1})
    log.warning("trial %d: %s; re-queued with the same params", trial.number, why)


def _heartbeats(storage, inflight: dict, stop, every_s: int) -> None:
    while not stop.wait(every_s):
        for trial in list(inflight.values()):
            storage.record_heartbeat(trial._trial_id)


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
    import warnings

    import optuna

    # the driver beats for its trials itself (ask/tell outside Study.optimize)
    warnings.filterwarnings("ignore", message="Heartbeat of storage is supposed to be used with Study.optimize")
    space, fixed = split(overrides)
    if conf.n_workers > 1 and type(launcher).__name__ == "BasicLauncher":
        raise UserError(
            f"hydra.sweeper.n_workers={conf.n_workers} needs a launcher that runs jobs in their own processes: "
            "add hydra/launcher=submitit_local (or a SLURM launcher); the basic launcher runs one job at a time in-process."
        )
    sweep_dir = Path(config.hydra.sweep.dir)
    sweep_dir.mkdir(parents=True, exist_ok=True)
    OmegaConf.save(config, sweep_dir / "multirun.yaml")

    directions = list(conf.direction) if OmegaConf.is_list(conf.direction) else [str(conf.direction)]
    objective = conf.objective
    if objective is not None:
        objective = list(objective) if OmegaConf.is_list(objective) else str(objective)
        n_obj = len(objective) if isinstance(objective, list) else 1
        if n_obj != len(directions):
            raise UserError(f"hydra.sweeper.objective has {n_obj} metric(s) but direction has {len(directions)}")
    name = conf.study_name or default_study_name(config, space)
    url = storage_url(conf)
    study = optuna.create_study(
        study_name=name,
        storage=make_storage(url, conf.heartbeat_s, on_stale=lambda st, t: _retry(st, t, conf.max_retries, "its sweep process died")),
        sampler=make_sampler(conf.sampler, space),
        pruner=make_pruner(conf.pruner),
        directions=directions,
        load_if_exists=True,
    )
    # jobs decide pruning in their own process: they rebuild this pruner from the study's attrs
    study.set_user_attr("llmsweep.pruner", OmegaConf.to_container(conf.pruner, resolve=True))
    storage = study._storage
    from optuna.storages._heartbeat import is_heartbeat_enabled

    beats = is_heartbeat_enabled(storage)
    # A sweep worker that is itself a SLURM job runs its trials in-process: on a preemption signal they
    # checkpoint and the job requeues; the requeued job (same SLURM_JOB_ID) adopts its RUNNING trials.
    slurm_job = os.environ.get("SLURM_JOB_ID")
    in_process = type(launcher).__name__ == "BasicLauncher"
    adopted = _owned_running(study, slurm_job) if slurm_job and in_process else []
    for trial in adopted:
        log.info("trial %d: resuming it (this SLURM job %s was requeued while it ran)", trial.number, slurm_job)
        if beats:
            storage.record_heartbeat(trial._trial_id)
    if slurm_job and in_process:
        preemption.listen(list(config.checkpoint.signals) if "checkpoint" in config else ["SIGUSR1", "SIGUSR2", "SIGTERM"])
    if beats:  # trials left RUNNING by a sweep process that died: fail them and re-queue their params
        optuna.storages.fail_stale_trials(study)
    already = finished(study)
    log.info("study %s (%s): %d of %d trials finished; searching %s", name, url, already, conf.n_trials, ", ".join(space))

    def job_overrides(trial) -> list[str]:
        extra = [f"tracking.group={name}", f"trial.study_name='{name}'", f"trial.storage='{url}'",
                 f"trial.number={trial.number}", f"trial.trial_id={trial._trial_id}"]
        if objective is not None:
            extra.append(f"objective={objective if isinstance(objective, str) else '[' + ','.join(objective) + ']'}")
        return fixed + [as_override(k, v) for k, v in trial.params.items()] + extra

    def launch(trial, ovs):
        return launcher.launch([ovs], initial_job_idx=trial.number)[0]

    results = []
    inflight: dict = {}
    stop_asking = False
    stop = threading.Event()
    if beats:
        threading.Thread(target=_heartbeats, args=(storage, inflight, stop, conf.heartbeat_s), daemon=True).start()
    with ThreadPoolExecutor(max_workers=conf.n_workers) as pool:
        for trial in adopted:
            inflight[pool.submit(launch, trial, job_overrides(trial))] = trial
        done: list = []
        while True:
            stop_asking = stop_asking or preemption.caught() is not None
            # refill first: a free worker starts its next trial before the finished ones are recorded
            # counted() includes every process's running trials, so processes sharing a study fill it together
            while not stop_asking and len(inflight) < conf.n_workers:
                before = study.get_trials(deepcopy=False)
                if len(counted(before)) >= conf.n_trials:
                    break
                trial = study.ask(space)
                if slurm_job:
                    trial.set_user_attr(SLURM_JOB, slurm_job)
                if _is_surplus(study, trial, conf.n_trials, before):
                    trial.set_user_attr(SURPLUS, True)
                    _tell(study, trial, state=optuna.trial.TrialState.FAIL)
                    stop_asking = True  # other processes sharing the study run the rest
                    break
                ovs = job_overrides(trial)
                inflight[pool.submit(launch, trial, ovs)] = trial
                if beats:  # after the submit: the job starts while this write commits
                    storage.record_heartbeat(trial._trial_id)
                log.info("trial %d: %s", trial.number, " ".join(f"{k}={v}" for k, v in trial.params.items()))
            for fut, trial in done:
                try:
                    results.append(_record(study, trial, fut, conf.max_retries))
                except _Exhausted:
                    log.info("the sampler's grid is exhausted")
                    stop_asking = True
            if not inflight and (stop_asking or not done):
                break
            done = []
            if inflight:
                finished_now, _ = wait(inflight, return_when=FIRST_COMPLETED)
                done = [(fut, inflight.pop(fut)) for fut in finished_now]
    stop.set()
    if preemption.caught() is not None:
        log.warning("preempted: trials checkpointed; requeueing this sweep worker")
        preemption.hand_over()
    _report(study, sweep_dir, conf)
    return results


def _owned_running(study, slurm_job: str) -> list:
    import optuna
    from optuna.trial import TrialState

    return [optuna.trial.Trial(study, t._trial_id) for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
            if t.user_attrs.get(SLURM_JOB) == slurm_job]


class _Exhausted(Exception):
    """The sampler has nothing left to propose (a finished grid)."""


def _tell(study, trial, *args, **kwargs) -> None:
    try:
        study.tell(trial, *args, **kwargs)
    except RuntimeError as e:  # GridSampler calls study.stop() once its grid is used up; outside optimize() that raises
        if "Study.stop" not in str(e):
            raise
        raise _Exhausted() from None


def _record(study, trial, fut, max_retries: int):
    """Tell the study how the trial ended."""
    import optuna
    from hydra.core.utils import JobStatus
    from optuna.trial import TrialState

    try:
        ret = fut.result()
    except Exception as e:
        if not type(e).__module__.startswith("submitit"):
            raise  # not a lost job but a broken sweep (e.g. a config that does not compose)
        # the launcher lost the job: its worker process died
        trial.set_user_attr("error", f"worker died: {type(e).__name__}: {e}"[:2000])
        _tell(study, trial, state=TrialState.FAIL)
        _retry(study, trial, max_retries, f"worker died ({type(e).__name__})")
        return None
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
            _tell(study, trial, state=TrialState.FAIL)
            log.warning("trial %d failed: objective %s", trial.number, values)
        else:
            _tell(study, trial, values if len(values) > 1 else values[0])
        return ret
    exc = ret._return_value
    if isinstance(exc, preemption.Preempted):  # stays RUNNING: the requeued sweep worker resumes it
        log.warning("trial %d preempted: %s", trial.number, exc)
        return None
    if isinstance(exc, optuna.TrialPruned):
        _tell(study, trial, state=TrialState.PRUNED)
        log.info("trial %d pruned: %s", trial.number, exc)
    else:
        trial.set_user_attr("error", f"{type(exc).__name__}: {exc}"[:2000])
        _tell(study, trial, state=TrialState.FAIL)
        log.warning("trial %d failed: %s: %s (run dir %s)", trial.number, type(exc).__name__, exc, run_dir)
    return ret


def _report(study, sweep_dir: Path, conf: DictConfig) -> None:
    from llmsweep.sweeping.report import print_best, write_plots

    print_best(study)
    if conf.plots:
        write_plots(study, sweep_dir)
