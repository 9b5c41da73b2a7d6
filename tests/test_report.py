"""The sweep report's plots on in-memory Optuna studies: what the importance plot ranks, when it is skipped,
axis labels and trial ticks (plotly figures and matplotlib axes inspected directly)."""

from __future__ import annotations

import logging

import matplotlib
import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.exceptions import ExperimentalWarning
from optuna.trial import TrialState, create_trial

from llmsweep.sweeping import report

matplotlib.use("Agg")
optuna.logging.set_verbosity(optuna.logging.WARNING)
pytestmark = pytest.mark.filterwarnings("ignore", category=ExperimentalWarning)

LR = FloatDistribution(1e-5, 1e-3, log=True)
RANK = IntDistribution(8, 32, step=8)
ALPHA = CategoricalDistribution([8, 16, 32])


def study(n: int, names: list[str] | None = None, varying=("lr", "alpha"), failed: int = 0) -> optuna.Study:
    """`n` complete trials (lr and alpha varying, rank constant 16) plus `failed` failed ones."""
    s = optuna.create_study(directions=["minimize"] * (len(names) if names else 1))
    if names:
        s.set_metric_names(names)
    for i in range(n):
        params = {
            "lr": 1e-5 * (1 + i % 90) if "lr" in varying else 1e-4,
            "rank": 16,
            "alpha": ALPHA.choices[i % 3] if "alpha" in varying else 16,
        }
        loss = 2.0 - 0.1 * i + 0.01 * (i % 3)
        values = [loss, 100.0 + 7 * i][: len(names) if names else 1]
        s.add_trial(create_trial(params=params, distributions={"lr": LR, "rank": RANK, "alpha": ALPHA}, values=values))
    for _ in range(failed):
        s.add_trial(create_trial(state=TrialState.FAIL))
    return s


def test_importance_ranks_only_the_parameters_that_varied():
    s = study(8)
    assert report.varying_params(s.trials) == ["lr", "alpha"]
    make_plotly, make_mpl = report.figures(s)["param_importances"]
    fig = make_plotly()
    assert sorted(fig.data[0].y) == ["alpha", "lr"]  # rank was 16 in every trial: never ranked
    ax = make_mpl()
    assert sorted(t.get_text() for t in ax.get_yticklabels()) == ["alpha", "lr"]


def test_one_varying_parameter_is_not_ranked(caplog):
    s = study(8, varying=("lr",))
    with caplog.at_level(logging.WARNING, logger=report.__name__):
        plots = report.figures(s)
    assert "param_importances" not in plots
    assert [r.getMessage() for r in caplog.records] == [
        "param_importances skipped: only lr varied over the complete trials: nothing to rank"
    ]


def test_too_few_trials_skip_the_importance_plot_with_one_warning(caplog, tmp_path):
    s = study(2, failed=3)  # failed trials do not count
    with caplog.at_level(logging.WARNING, logger=report.__name__):
        report.write_plots(s, tmp_path)
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 1, lines
    assert "2 complete trial(s)" in lines[0] and f"at least {report.MIN_TRIALS_FOR_IMPORTANCE}" in lines[0]
    assert f"run {report.MIN_TRIALS_FOR_IMPORTANCE - 2} more" in lines[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["optimization_history.html", "optimization_history.png"]


def test_enough_trials_write_history_and_importances(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger=report.__name__):
        report.write_plots(study(report.MIN_TRIALS_FOR_IMPORTANCE, ["eval_loss"]), tmp_path)
    assert not caplog.records
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "optimization_history.html",
        "optimization_history.png",
        "param_importances.html",
        "param_importances.png",
    ]


def test_history_axis_is_the_objectives_name_with_integer_trial_ticks():
    plots = report.figures(study(3, ["eval_loss"]))
    fig = plots["optimization_history"][0]()
    assert fig.layout.yaxis.title.text == "eval_loss"
    assert fig.layout.xaxis.dtick == 1 and fig.layout.xaxis.tick0 == 0 and fig.layout.xaxis.tickformat == "d"
    ax = plots["optimization_history"][1]()
    assert ax.get_ylabel() == "eval_loss"
    ax.figure.canvas.draw()
    ticks = [t for t in ax.get_xticks() if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]]
    assert ticks and all(float(t).is_integer() for t in ticks), ticks


@pytest.mark.parametrize("n, step", [(11, 1), (12, 2), (60, 10), (101, 10), (102, 20)])
def test_trial_ticks_stay_about_ten(n, step):
    fig = report.figures(study(n))["optimization_history"][0]()
    assert fig.layout.xaxis.dtick == step


def test_importance_names_its_objective():
    make_plotly, make_mpl = report.figures(study(6, ["eval_loss"]))["param_importances"]
    fig = make_plotly()
    assert fig.layout.xaxis.title.text == "importance for eval_loss" and fig.data[0].name == "eval_loss"
    ax = make_mpl()
    assert ax.get_xlabel() == "importance for eval_loss"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["eval_loss"]


def test_two_objectives_label_pareto_axes_and_importance_bars():
    plots = report.figures(study(6, ["eval_loss", "device_seconds"]))
    assert "optimization_history" not in plots
    fig = plots["pareto_front"][0]()
    assert (fig.layout.xaxis.title.text, fig.layout.yaxis.title.text) == ("eval_loss", "device_seconds")
    ax = plots["pareto_front"][1]()
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("eval_loss", "device_seconds")
    fig = plots["param_importances"][0]()
    assert [t.name for t in fig.data] == ["eval_loss", "device_seconds"]
    ax = plots["param_importances"][1]()
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["eval_loss", "device_seconds"]


def test_a_study_without_metric_names_takes_them_from_its_runs_config(tmp_path):
    s = optuna.create_study(directions=["minimize", "minimize"])
    run = tmp_path / "run0"
    (run / ".hydra").mkdir(parents=True)
    (run / ".hydra" / "config.yaml").write_text("objective: [eval_loss, judge_mean]\n")
    s.add_trial(create_trial(params={}, distributions={}, values=[1.0, 2.0], user_attrs={"run_dir": str(run)}))
    assert report.objective_names(s) == ["eval_loss", "judge_mean"]
    assert report.objective_names(optuna.create_study()) == ["objective"]  # nothing recorded: no made-up name


def test_report_cli_warns_once_on_stderr_and_writes_the_history(tmp_path, capsys):
    from llmsweep.sweeping.__main__ import main

    url = f"sqlite:///{tmp_path / 'optuna.db'}"
    s = optuna.create_study(study_name="lr1", storage=url)
    s.add_trials(study(2).trials)
    assert main(["report", "lr1", "--storage", url, "--out", str(tmp_path / "plots")]) == 0
    out, err = capsys.readouterr()
    assert "best trial:" in out and "param_importances" not in out
    assert err.splitlines() == [
        f"WARNING: param_importances skipped: 2 complete trial(s); parameter importance needs at least "
        f"{report.MIN_TRIALS_FOR_IMPORTANCE}: run {report.MIN_TRIALS_FOR_IMPORTANCE - 2} more "
        "(raise hydra.sweeper.n_trials)"
    ]
    assert sorted(p.name for p in (tmp_path / "plots").iterdir()) == [
        "optimization_history.html",
        "optimization_history.png",
    ]
