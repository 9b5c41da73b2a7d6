"""End of a sweep: the best trial(s) with their run dirs and params, and Optuna's plots."""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path

log = logging.getLogger(__name__)


def print_best(study) -> None:
    states = Counter(t.state.name for t in study.get_trials(deepcopy=False))
    print(f"study {study.study_name}: " + ", ".join(f"{n} {s.lower()}" for s, n in sorted(states.items())))
    spent = [t.user_attrs["device_seconds"] for t in study.get_trials(deepcopy=False)
             if "device_seconds" in t.user_attrs]
    if spent:
        print(f"device time: {sum(spent) / 3600:.4f} device-hours over {len(spent)} trials "
              "(llmsweep.tracking.accounting)")
    complete = [t for t in study.get_trials(deepcopy=False) if t.state.name == "COMPLETE"]
    if not complete:
        print("no trial completed")
        return
    multi = len(study.directions) > 1
    best = study.best_trials if multi else [study.best_trial]
    print("Pareto front:" if multi else "best trial:")
    for t in best:
        values = ", ".join(f"{v:.6g}" for v in t.values)
        params = " ".join(f"{k}={v}" for k, v in t.params.items())
        print(f"  #{t.number}: {values}  {params}  run dir {t.user_attrs.get('run_dir', '?')}")


def write_plots(study, sweep_dir: Path) -> None:
    """optimization_history, param_importances and (several objectives) pareto_front as HTML + PNG."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import optuna.visualization as vis
        import optuna.visualization.matplotlib as mvis
    except ImportError as e:  # plotting libraries are optional
        log.info("plots skipped (%s)", e)
        return
    complete = [t for t in study.get_trials(deepcopy=False) if t.state.name == "COMPLETE"]
    multi = len(study.directions) > 1
    plots = {"pareto_front": "plot_pareto_front"} if multi else {"optimization_history": "plot_optimization_history"}
    if len(complete) >= 2 and len(complete[0].params) > 1 and not multi:
        plots["param_importances"] = "plot_param_importances"
    import warnings

    from optuna.exceptions import ExperimentalWarning

    warnings.filterwarnings("ignore", category=ExperimentalWarning)
    for name, fn in plots.items():
        try:
            getattr(vis, fn)(study).write_html(str(sweep_dir / f"{name}.html"))
            ax = getattr(mvis, fn)(study)
            fig = ax.figure if hasattr(ax, "figure") else ax.flat[0].figure
            fig.savefig(sweep_dir / f"{name}.png", bbox_inches="tight")
        except Exception as e:  # a plot that needs more trials than the study has
            log.info("plot %s skipped: %s", name, e)
