"""Outputs worth keeping only while their trial is the study's best (a merge's `merged/` weights with
merge.keep=best, so a 30-trial search holds about one merged model plus those in flight).

A run lists such paths, relative to its run dir, in `<run_dir>/keep_if_best.json` (a JSON list). After recording
a trial, the sweep driver deletes them for every finished trial of the study that is not its best COMPLETE one
(failed and pruned trials included). With several objectives there is no single best: everything is kept.
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

log = logging.getLogger(__name__)
KEEP_IF_BEST = "keep_if_best.json"


class Retention:
    """Applied by one sweep process after each trial it records; other processes sharing the study do the same."""

    def __init__(self) -> None:
        self._cleared: set[str] = set()  # run dirs already cleared: a trial that is not best never becomes best
        self._told_multi = False

    def apply(self, study) -> None:
        from optuna.study import StudyDirection
        from optuna.trial import TrialState

        trials = study.get_trials(deepcopy=False)
        if len(study.directions) > 1:
            listed = [Path(t.user_attrs["run_dir"]) / KEEP_IF_BEST for t in trials if t.user_attrs.get("run_dir")]
            if not self._told_multi and any(p.exists() for p in listed):
                log.info("several objectives, no single best trial: keeping every output listed in %s", KEEP_IF_BEST)
                self._told_multi = True
            return
        complete = [t for t in trials if t.state == TrialState.COMPLETE]
        pick = min if study.direction == StudyDirection.MINIMIZE else max
        best = pick(complete, key=lambda t: t.value).number if complete else None  # ties: the earlier trial
        for t in trials:
            run_dir = t.user_attrs.get("run_dir")
            if t.state.is_finished() and t.number != best and run_dir and run_dir not in self._cleared:
                discard(Path(run_dir))
                self._cleared.add(run_dir)


def discard(run_dir: Path) -> None:
    """Delete the paths `run_dir/keep_if_best.json` lists (only inside `run_dir`)."""
    listing = run_dir / KEEP_IF_BEST
    if not listing.exists():
        return
    try:
        paths = json.loads(listing.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        paths = e
    if not isinstance(paths, list):
        log.warning("%s: not a JSON list of paths (%s); nothing deleted", listing, paths)
        return
    root = run_dir.resolve()
    for rel in paths:
        path = (root / str(rel)).resolve()
        if path == root or root not in path.parents:
            log.warning("%s: %r is not inside the run dir; not deleted", listing, rel)
        elif path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
            log.info("deleted %s (its trial is not the study's best)", path)
        elif path.exists():
            path.unlink()
            log.info("deleted %s (its trial is not the study's best)", path)
