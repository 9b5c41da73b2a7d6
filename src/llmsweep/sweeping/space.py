"""Hydra override grammar -> Optuna distributions: choice(...) -> categorical, range(...) -> categorical
of its values, interval(a, b) -> float (int when both ends are ints), tag(log, interval(...)) -> log scale."""

from __future__ import annotations

from hydra.core.override_parser.types import ChoiceSweep, IntervalSweep, Override, RangeSweep

from llmsweep.errors import UserError

PRIMITIVE = (str, int, float, bool, type(None))


def to_distribution(ov: Override):
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    v = ov.value()
    key = ov.get_key_element()
    if isinstance(v, ChoiceSweep):
        values = list(v.list) if all(isinstance(x, PRIMITIVE) for x in v.list) else list(ov.sweep_string_iterator())
        return CategoricalDistribution(values)
    if isinstance(v, RangeSweep):
        return CategoricalDistribution(list(ov.sweep_iterator()))
    if isinstance(v, IntervalSweep):
        log = "log" in v.tags
        if isinstance(v.start, int) and isinstance(v.end, int) and not isinstance(v.start, bool):
            return IntDistribution(int(v.start), int(v.end), log=log)
        return FloatDistribution(float(v.start), float(v.end), log=log)
    raise UserError(f"sweep over {key}: {ov.input_line!r} is not choice(...), range(...) or interval(a,b)")


def split(overrides: list[Override]) -> tuple[dict, list[str]]:
    """Search space {key: distribution} and the fixed overrides; a later override of a key wins."""
    space, fixed = {}, {}
    for ov in overrides:
        key = ov.get_key_element()
        space.pop(key, None)
        fixed.pop(key, None)
        if ov.is_sweep_override():
            space[key] = to_distribution(ov)
        else:
            fixed[key] = f"{key}={ov.get_value_element_as_str()}"
    if not space:
        raise UserError("the sweep has no search space: add +sweeps=NAME or hydra.sweeper.params.KEY='interval(a,b)'")
    return space, list(fixed.values())


def as_override(key: str, value) -> str:
    if isinstance(value, float):
        return f"{key}={value!r}"
    return f"{key}={value}"
