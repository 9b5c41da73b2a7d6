"""The trainer's metric dicts (17 keys a step for DPO) go to the run's log file, not the console; its progress bar
stays. transformers' ProgressCallback writes each dict under its bar (PrinterCallback prints it when tqdm is off)."""

from __future__ import annotations

import json
import logging

from transformers.trainer_callback import PrinterCallback, ProgressCallback, TrainerCallback

from llmsweep.console import METRICS_LOGGER

log = logging.getLogger(METRICS_LOGGER)


class ProgressBarOnly(ProgressCallback):
    def on_log(self, args, state, control, logs=None, **kwargs):
        pass


class MetricsToLog(TrainerCallback):
    def on_log(self, args, state, control, logs=None, **kwargs):
        if state.is_world_process_zero and logs:
            log.info("step %d: %s", state.global_step, json.dumps(logs, default=str))


def quiet_metrics(trainer):
    """Swap `trainer`'s console printer of metric dicts for a logger of them (returns the trainer)."""
    if any(isinstance(cb, MetricsToLog) for cb in trainer.callback_handler.callbacks):
        return trainer
    if trainer.pop_callback(PrinterCallback) is None and trainer.pop_callback(ProgressCallback) is not None:
        trainer.add_callback(ProgressBarOnly())
    trainer.add_callback(MetricsToLog())
    return trainer
