"""Which merged weights stay on disk: in a sweep only the best trial so far keeps its `merged/` dir
(merge.keep=best), so a 30-trial search holds about one merged model plus those in flight."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from omegaconf import DictConfig

log = logging.getLogger(__name__)
MERGED = "merged"


def retain(cfg: DictConfig, merged_dir: Path, objective) -> bool:
    """Delete `merged_dir` unless it is to be kept; in a sweep also drop the merges this trial beats."""
    keep = str(cfg.merge.keep)
    if keep == "all" or (keep == "best" and cfg.trial.study_name is None):  # a single run keeps its merge
        return True
    if keep == "best" and not isinstance(objective, list):
        done, minimize = _other_finished(cfg)
        values = [t.value for t in done]
        best = (min if minimize else max)(values) if values else None
        if best is None or (objective < best if minimize else objective > best):
            for t in done:
                discard(Path(t.user_attrs.get("run_dir", "")) / MERGED)
            return True
    elif keep == "best":
        log.info("merge.keep=best with several objectives: no single best, keeping every merge")
        return True
    discard(merged_dir)
    return False


def _other_finished(cfg: DictConfig):
    import optuna
    from optuna.trial import TrialState

    from llmsweep.sweeping.study import make_storage

    study = optuna.load_study(study_name=str(cfg.trial.study_name), storage=make_storage(str(cfg.trial.storage)))
    done = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)) if t.number != cfg.trial.number]
    return done, study.direction == optuna.study.StudyDirection.MINIMIZE


def discard(d: Path) -> None:
    if d.name == MERGED and d.is_dir():
        shutil.rmtree(d, ignore_errors=True)
        log.info("deleted merged weights %s", d)
