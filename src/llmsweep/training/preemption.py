"""Preemption safety: checkpoint when the scheduler warns, then let the job be requeued.

SLURM sends a signal before the time limit (`--signal=USR2@N` from submitit, `B:USR1@N` in slurm/*.sbatch)
and SIGTERM on preemption or `scontrol requeue`. On any of them the trainer saves a checkpoint at the end of
the current step and stops. Then, in the process's main thread, `hand_over()` passes the signal on to the
handler installed before ours (submitit's requeues the job and exits) or requeues the SLURM job itself. The
run harness finishes the run and raises `Preempted`; the launch layer (`llmsweep.launch`) hands over when it
runs in the main thread, and a sweep running trials in its own threads hands over once they all stopped.
The requeued job runs the same config in the same run dir and resumes from `latest_checkpoint()`.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import threading
from pathlib import Path

log = logging.getLogger(__name__)

# Process-wide: Python delivers signals to the main thread, while trials may run in a sweep's threads.
_caught: int | None = None
_previous: dict[int, object] = {}
_forward_to: int | None = None  # a process group (a trial's ranks under torchrun) that gets the signal too


class Preempted(Exception):
    """The run saved a checkpoint on a scheduler's signal; its process must requeue, not report a result."""


def latest_checkpoint(checkpoint_dir: Path) -> str | None:
    from transformers.trainer_utils import get_last_checkpoint

    return get_last_checkpoint(str(checkpoint_dir)) if checkpoint_dir.is_dir() else None


def in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def listen(signals: list[str]) -> None:
    """Catch `signals` (names like SIGUSR1) from now on; only the main thread can install handlers."""
    if not in_main_thread():
        return
    for name in signals:
        sig = getattr(signal, name if name.startswith("SIG") else f"SIG{name}")
        if sig not in _previous:
            _previous[sig] = signal.signal(sig, _on_signal)


def stop_listening() -> None:
    if in_main_thread():
        for sig, previous in _previous.items():
            signal.signal(sig, previous)
        _previous.clear()


def caught() -> int | None:
    return _caught


def _on_signal(signum, frame) -> None:
    global _caught
    if signum == signal.SIGINT and _caught == signal.SIGINT:
        raise KeyboardInterrupt  # a second Ctrl-C: stop now, without waiting for the checkpoint
    if _caught is None:
        log.warning("caught %s: checkpointing at the end of this step", signal.Signals(signum).name)
    _caught = signum
    if _forward_to is not None:  # the ranks checkpoint; this process requeues once they stopped
        try:
            os.killpg(_forward_to, signal.SIGUSR1)
        except ProcessLookupError:
            pass


def forward_to(process_group: int | None) -> None:
    """Pass caught signals on to `process_group` (as SIGUSR1, which torchrun itself ignores there) until None."""
    global _forward_to
    _forward_to = process_group


def callback():
    """A trainer callback: a caught signal becomes "save now, then stop" at the next step boundary; its
    `stopped_at` is the step it stopped at (None: training was not cut short).
    (Built on demand: the sweep process imports this module without transformers.)"""
    from transformers import TrainerCallback

    from llmsweep.training.distributed import agree

    class PreemptionCallback(TrainerCallback):
        stopped_at: int | None = None

        def on_step_end(self, args, state, control, **kwargs):
            # every rank of a distributed run stops at the same step, whichever rank got the signal
            if agree(_caught is not None):
                control.should_save = True
                control.should_training_stop = True
                self.stopped_at = state.global_step

    return PreemptionCallback()


def interrupted() -> bool:
    """The signal was the user's Ctrl-C: nothing to requeue, the user continues the run by hand."""
    return _caught == signal.SIGINT


def hand_over() -> None:
    """Main thread, after the checkpoint is written: requeue (the previous handler or scontrol) and exit."""
    signum = _caught
    previous = _previous.get(signum)
    stop_listening()
    if signum == signal.SIGINT:
        raise SystemExit(128 + signum)
    if callable(previous):
        previous(signum, None)  # submitit: requeue + exit on its preemption signal, log-and-ignore on SIGTERM
    job = os.environ.get("SLURM_JOB_ID")
    if os.environ.get("SLURM_ARRAY_TASK_ID"):  # an array task: requeueing the array's id would requeue every task
        job = f"{os.environ['SLURM_ARRAY_JOB_ID']}_{os.environ['SLURM_ARRAY_TASK_ID']}"
    if signum != signal.SIGTERM and job:  # on SIGTERM SLURM itself is preempting or requeueing the job
        subprocess.run(["scontrol", "requeue", job], check=False, timeout=60)
        log.warning("requeued SLURM job %s", job)
    raise SystemExit(128 + signum)


class PreemptionControl:
    """The harness's view of preemption: a trainer callback, and a `Stop` once the signal stopped the training.
    A signal caught after the last step (final evaluation, answers) lets the run finish: it has its result."""

    def __init__(self, signals: list[str]):
        listen(signals)
        self.callback = None

    def trainer_callback(self):
        self.callback = callback()
        return self.callback

    @property
    def stopping(self) -> bool:
        return self.callback is not None and self.callback.stopped_at is not None

    def stop(self, progress: dict):
        from llmsweep.harness import Stop

        if not self.stopping:
            return None
        step = progress.get("global_step")
        log.warning("checkpoint saved at step %s%s", step, "" if interrupted() else "; handing over for requeue")
        return Stop("preempted", Preempted(f"checkpointed at step {step}"))

    def close(self) -> None:
        stop_listening()
