"""What the sweep driver needs to know about a Hydra launcher, read from the launcher object itself.

Hydra's Launcher interface has no capability flags, so two rules, each overridable by the launcher:
- `runs_in_process(launcher)`: a launcher may say so with a boolean `runs_in_process` attribute; otherwise Hydra's
  BasicLauncher and its subclasses run the task function in the calling process (one job at a time, sharing this
  process's signals), and every other launcher (submitit local or SLURM, joblib, ray, ...) starts its own processes.
- `lost_job(launcher, exc)`: an exception from `launch()` (instead of a JobReturn) means the job's worker died when it
  is one of the launcher's `lost_job_errors` (default: submitit's errors for a job that never completed or was never
  submitted). Any other exception is a broken sweep (e.g. a config that does not compose) and stops it.
- `prepare(launcher)`: work around what a launcher gets wrong when trials are submitted from several threads.
"""

from __future__ import annotations


def runs_in_process(launcher) -> bool:
    declared = getattr(launcher, "runs_in_process", None)
    if isinstance(declared, bool):
        return declared
    from hydra._internal.core_plugins.basic_launcher import BasicLauncher  # Hydra's own launcher (hydra-core pinned)

    return isinstance(launcher, BasicLauncher)


def prepare(launcher) -> None:
    """submitit's local executor starts a job's controller process before it creates the job's folder, where the
    controller then opens its log files: a controller that wins that race exits at once (FileNotFoundError, no log),
    the job is lost and its trial retried. It happened in a suite run, with threads submitting while other trials
    trained. The executor's own `setup` commands run before the controller, in the shell whose pid is the job id:
    they wait there (up to 10 s) for the folder. A launcher configured with its own `setup` is left alone."""
    params = getattr(launcher, "params", None)
    if getattr(launcher, "_EXECUTOR", None) != "local" or not isinstance(params, dict) or "setup" in params:
        return
    folder = str(params["submitit_folder"])
    for c in '\\"$`':  # inside double quotes, so that only the job id ($$) is expanded
        folder = folder.replace(c, "\\" + c)
    job_folder = folder.replace("%j", "$$")
    params["setup"] = [f'for _ in $(seq 200); do [ -d "{job_folder}" ] && break; sleep 0.05; done']


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
