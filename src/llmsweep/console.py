"""What a run shows on the console: its progress and results. Everything else (library warnings, Python warnings,
the trainer's metric dicts) goes only to the run's log file, Hydra's job log (`train.log`, `merge.log`).

Light on imports on purpose: `route_to_log_file` runs at the start of every job, before the config checks that
must fail fast.
"""

from __future__ import annotations

import logging

# loggers whose records below ERROR reach the console; anything at ERROR or above always does
CONSOLE_LOGGERS = ("llmsweep", "hydra", "HYDRA", "hydra_plugins", "__main__")
METRICS_LOGGER = "llmsweep.metrics"  # the trainer's metric dicts (llmsweep.trainer_log): the log file only


def _under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


class ConsoleFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.ERROR:
            return True
        if _under(record.name, METRICS_LOGGER):
            return False
        return any(_under(record.name, p) for p in CONSOLE_LOGGERS)


def route_to_log_file() -> None:
    """In a job whose logging Hydra configured with a log file: keep the console handlers to llmsweep's own
    records, and send Python warnings and transformers' logging (which has its own stderr handler) through the
    root logger, so they land in the log file. Without a log file (serve.py) nothing changes."""
    root = logging.getLogger()
    if not any(isinstance(h, logging.FileHandler) for h in root.handlers):
        return
    for h in root.handlers:
        if type(h) is logging.StreamHandler and not any(isinstance(f, ConsoleFilter) for f in h.filters):
            h.addFilter(ConsoleFilter())
    logging.captureWarnings(True)  # warnings.warn -> the py.warnings logger
    from transformers.utils import logging as hf_logging  # no torch import

    hf_logging.disable_default_handler()
    hf_logging.enable_propagation()
