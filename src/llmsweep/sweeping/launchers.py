"""What the sweep driver needs to know about a Hydra launcher, read from the launcher object itself.

Hydra's Launcher interface has no capability flags, so two rules, each overridable by the launcher:
- `runs_in_process(launcher)`: a launcher may say so with a boolean `runs_in_process` attribute; otherwise Hydra's
  BasicLauncher and its subclasses run the task function in the calling process (one job at a time, sharing this
  process's signals), and every other launcher (submitit local or SLURM, joblib, ray, ...) starts its own processes.
- `lost_job(launcher, exc)`: an exception from `launch()` (instead of a JobReturn) means the job's worker died when it
  is one of the launcher's `lost_job_errors` (default: submitit's errors for a job that never completed or was never
  submitted). Any other exception is a broken sweep (e.g. a config that does not compose) and stops it.
"""

from __future__ import annotations


def runs_in_process(launcher) -> bool:
    declared = getattr(launcher, "runs_in_process", None)
    if isinstance(declared, bool):
        return declared
    from hydra._internal.core_plugins.basic_launcher import BasicLauncher  # Hydra's own launcher (hydra-core pinned)

    return isinstance(launcher, BasicLauncher)


def lost_job(launcher, exc: BaseException) -> bool:
    return isinstance(exc, getattr(launcher, "lost_job_errors", None) or _submitit_errors())


def _submitit_errors() -> tuple:
    try:
        from submitit.core.utils import FailedSubmissionError, UncompletedJobError
    except ImportError:
        return ()
    return (UncompletedJobError, FailedSubmissionError)


def job_error(ret) -> BaseException:
    """The exception a failed job raised. JobReturn.return_value re-raises it and writes a line to stderr; the
    attribute behind it is Hydra's (hydra-core is pinned in pyproject.toml)."""
    return ret._return_value
