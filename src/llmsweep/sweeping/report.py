"""End of a sweep: the best trial(s) with their run dirs and params, and Optuna's plots."""

from __future__ import annotations

import logging
import warnings
from collections import Counter
from pathlib import Path

log = logging.getLogger(__name__)
# PED-ANOVA (Optuna's default importance evaluator) contrasts the best trials with the rest: below this many
# complete trials that contrast is noise, so no importance plot is drawn
MIN_TRIALS_FOR_IMPORTANCE = 5


def print_best(study) -> None:
    states = Counter(t.state.name for t in study.get_trials(deepcopy=False))
    print(f"study {study.study_name}: " + ", ".join(f"{n} {s.lower()}" for s, n in sorted(states.items())))
    spent = [
        t.user_attrs["device_seconds"] for t in study.get_trials(deepcopy=False) if "device_seconds" in t.user_attrs
    ]
    if spent:
        print(
            f"device time: {sum(spent) / 3600:.4f} device-hours over {len(spent)} trials (llmsweep.tracking.accounting)"
        )
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


def objective_names(study) -> list[str]:
    """One name per objective: the study's metric names (the sweep driver sets them), else, for a study written
    before that, the `objective` in a finished trial's run config; else generic names."""
    if study.metric_names:
        return list(study.metric_names)
    n = len(study.directions)
    for t in study.get_trials(deepcopy=False):
        config = Path(t.user_attrs.get("run_dir") or "/nonexistent") / ".hydra" / "config.yaml"
        if t.state.name == "COMPLETE" and config.is_file():
            from omegaconf import OmegaConf

            keys = OmegaConf.load(config).get("objective")
            keys = [str(k) for k in keys] if OmegaConf.is_list(keys) else [str(keys)]
            if len(keys) == n:
                return keys
    return ["objective"] if n == 1 else [f"objective {i}" for i in range(n)]


def varying_params(trials) -> list[str]:
    """The parameters that took more than one value among `trials` (a constant one has no importance to rank)."""
    values: dict[str, set] = {}
    for t in trials:
        for k, v in t.params.items():
            values.setdefault(k, set()).add(v)
    return [k for k, seen in values.items() if len(seen) > 1]


def importance_skipped(complete: list, varying: list[str]) -> str | None:
    """Why the importance plot is not drawn (None: draw it over `varying`)."""
    if len(complete) < MIN_TRIALS_FOR_IMPORTANCE:
        return (
            f"{len(complete)} complete trial(s); parameter importance needs at least {MIN_TRIALS_FOR_IMPORTANCE}: "
            f"run {MIN_TRIALS_FOR_IMPORTANCE - len(complete)} more (raise hydra.sweeper.n_trials)"
        )
    if len(varying) < 2:
        return f"{'only ' + varying[0] if varying else 'no parameter'} varied over the complete trials: nothing to rank"
    return None


def write_plots(study, sweep_dir: Path) -> None:
    """optimization_history (one objective) or pareto_front (several), and param_importances, as HTML + PNG.
    Axes are labelled with the objectives' names; trial axes have integer ticks."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as e:  # plotting libraries are optional
        log.info("plots skipped (%s)", e)
        return
    for name, (figure, axes) in figures(study).items():
        try:
            figure().write_html(str(sweep_dir / f"{name}.html"))
            ax = axes()
            fig = ax.figure if hasattr(ax, "figure") else ax.flat[0].figure
            fig.savefig(sweep_dir / f"{name}.png", bbox_inches="tight")
            plt.close(fig)
        except Exception as e:  # a plot the study's trials do not support
            log.warning("plot %s skipped: %s", name, e)


def figures(study) -> dict:
    """{plot name: (make the plotly figure, make the matplotlib axes)} for the plots this study supports;
    logs one warning line for the importance plot it does not draw."""
    import optuna.visualization as vis
    import optuna.visualization.matplotlib as mvis
    from optuna.exceptions import ExperimentalWarning

    warnings.filterwarnings("ignore", category=ExperimentalWarning)  # the matplotlib plots are "experimental"
    names = objective_names(study)
    complete = [t for t in study.get_trials(deepcopy=False) if t.state.name == "COMPLETE"]
    plots: dict = {}
    if len(names) > 1:
        plots["pareto_front"] = (
            lambda: vis.plot_pareto_front(study, target_names=names),
            lambda: mvis.plot_pareto_front(study, target_names=names),
        )
    else:
        plots["optimization_history"] = (
            lambda: _integer_trial_ticks(vis.plot_optimization_history(study, target_name=names[0]), study),
            lambda: _integer_trial_ticks_mpl(mvis.plot_optimization_history(study, target_name=names[0])),
        )
    varying = varying_params(complete)
    why = importance_skipped(complete, varying)
    if why:
        log.warning("param_importances skipped: %s", why)
    else:
        plots["param_importances"] = (
            lambda: _name_importances(vis.plot_param_importances(study, params=varying, target_name=names[0]), names),
            lambda: _name_importances_mpl(
                mvis.plot_param_importances(study, params=varying, target_name=names[0]), names
            ),
        )
    return plots


def _importance_axis(names: list[str]) -> str:
    return f"importance for {', '.join(names)}"


def _name_importances(fig, names: list[str]):
    """One bar trace per objective, in objective order: name each after its objective (Optuna falls back to
    'Objective Value i' when the study has no metric names)."""
    for trace, name in zip(fig.data, names, strict=True):
        trace.name = name
    return fig.update_layout(xaxis_title=_importance_axis(names), showlegend=True)


def _name_importances_mpl(ax, names: list[str]):
    for bars, name in zip(ax.containers, names, strict=True):
        bars.set_label(name)
    ax.legend(loc="best")
    ax.set_xlabel(_importance_axis(names))
    return ax


def _integer_trial_ticks(fig, study):
    """Trial numbers are integers: ticks on a 1-2-5 step from 0 with at most about 10 of them."""
    last = max((t.number for t in study.get_trials(deepcopy=False)), default=0)
    step = next(s * 10**e for e in range(12) for s in (1, 2, 5) if s * 10**e * 10 >= last)
    return fig.update_xaxes(tick0=0, dtick=step, tickformat="d")


def _integer_trial_ticks_mpl(ax):
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    return ax
