"""The run harness with a recipe that trains nothing: the files every run writes, the objective, a control that
stops the run, and finalisation on failure (seconds, no model)."""

from __future__ import annotations

import json

import pytest
from omegaconf import OmegaConf

from llmsweep.errors import UserError
from llmsweep.harness import KEEP_IF_BEST, Job, Outcome, Recipe, Stop, execute

ANSWERS = [
    {"prompt": "q1", "reference": "r1", "base_answer": "b1", "tuned_answer": "r1"},
    {"prompt": "q2", "reference": "r2", "base_answer": "b2", "tuned_answer": "x"},
]


def cfg(**over):
    base = {
        "seed": 1,
        "objective": "eval_loss",
        "tracking": {"backend": "none"},
        "judge": {"name": "none", "_target_": None},
    }
    return OmegaConf.merge(base, over)


class Stopper:
    """A control that stops the run like the pruning control does."""

    def __init__(self):
        self.closed = False

    def trainer_callback(self):
        return "callback"

    @property
    def stopping(self):
        return True

    def stop(self, progress):
        return Stop("pruned", RuntimeError("stopped"), {"pruned": True})

    def close(self):
        self.closed = True


def test_a_run_writes_answers_metrics_and_returns_its_objective(tmp_path):
    seen = {}

    def recipe(c, run):
        seen["callbacks"], seen["stopping"] = run.trainer_callbacks(), run.stopping
        run.keep_only_if_best("merged")
        return Outcome({"eval_loss": 0.25, "history": [1]}, ANSWERS)

    assert execute(Recipe("train", recipe), cfg(), Job(tmp_path)) == 0.25
    assert seen == {"callbacks": [], "stopping": False}
    assert [json.loads(line) for line in (tmp_path / "answers.jsonl").read_text().splitlines()] == ANSWERS
    m = json.loads((tmp_path / "metrics.json").read_text())
    assert m["objective"] == 0.25 and m["devices"] >= 1 and m["attempts"] == 1
    assert json.loads((tmp_path / KEEP_IF_BEST).read_text()) == ["merged"]
    assert not (tmp_path / "judgments.jsonl").exists(), "judge=none judges nothing"


def test_answers_are_judged_and_a_list_objective_gives_a_list(tmp_path):
    c = cfg(
        objective=["eval_loss", "judge_mean"],
        judge={"name": "reference", "_target_": "llmsweep.judging.reference.ReferenceJudge"},
    )
    value = execute(Recipe("train", lambda c, run: Outcome({"eval_loss": 1.0}, ANSWERS)), c, Job(tmp_path))
    judgments = [json.loads(line) for line in (tmp_path / "judgments.jsonl").read_text().splitlines()]
    assert {j["which"] for j in judgments} == {"tuned", "base"} and len(judgments) == 4
    tuned = [j["score"] for j in judgments if j["which"] == "tuned"]
    assert value == [1.0, sum(tuned) / 2] and tuned[0] == 5, "the answer equal to its reference scores 5"


def test_an_objective_that_is_not_a_metric_names_the_available_ones(tmp_path):
    with pytest.raises(
        UserError, match=r"objective=judge_mean is not a metric of this merge run. Available: .*eval_loss"
    ):
        execute(
            Recipe("merge", lambda c, run: Outcome({"eval_loss": 1.0}, ANSWERS)),
            cfg(objective="judge_mean"),
            Job(tmp_path),
        )


def test_a_stopping_control_finishes_the_run_as_it_says_and_raises_its_error(tmp_path):
    stopper = Stopper()

    def recipe(c, run):
        assert run.stopping and run.trainer_callbacks() == ["callback"]
        return Outcome({"global_step": 3})

    with pytest.raises(RuntimeError, match="stopped"):
        execute(Recipe("train", recipe), cfg(), Job(tmp_path), controls=[stopper])
    m = json.loads((tmp_path / "metrics.json").read_text())
    assert m["pruned"] is True and m["global_step"] == 3 and "objective" not in m
    assert not (tmp_path / "answers.jsonl").exists() and stopper.closed


def test_a_failing_recipe_checks_first_and_closes_its_controls(tmp_path):
    stopper = Stopper()

    def check(c):
        raise UserError("no inputs")

    with pytest.raises(UserError, match="no inputs"):
        execute(Recipe("merge", lambda c, run: Outcome({}), check), cfg(), Job(tmp_path / "never"), controls=[stopper])
    assert not (tmp_path / "never").exists(), "a failed check leaves no run dir"

    def boom(c, run):
        raise ValueError("boom")

    with pytest.raises(ValueError):
        execute(Recipe("train", boom), cfg(), Job(tmp_path), controls=[stopper])
    assert stopper.closed and not (tmp_path / "metrics.json").exists()


def test_metrics_json_is_valid_json_when_a_metric_is_nan(tmp_path):
    value = execute(
        Recipe("train", lambda c, run: Outcome({"eval_loss": float("nan"), "h": [float("inf")]})), cfg(), Job(tmp_path)
    )
    assert value != value, "the objective stays NaN (the sweeper fails such a trial)"
    m = json.loads(
        (tmp_path / "metrics.json").read_text(), parse_constant=lambda c: pytest.fail(f"{c} in metrics.json")
    )
    assert m["eval_loss"] is None and m["objective"] is None and m["h"] == [None]
