"""Hydra override grammar -> Optuna distributions.

choice(...) -> categorical; range(...) -> stepped int/float (its values are an arithmetic sequence, so TPE and
CMA-ES can use their order); interval(a, b) -> float (int when both ends are ints); tag(log, interval(...)) ->
log scale. A job always receives Hydra's own value: a float range's sampled value is snapped to the nearest of
the values Hydra's range(...) lists (Optuna's `low + k * step` may differ from them in the last digit).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from hydra.core.override_parser.types import ChoiceSweep, IntervalSweep, Override, RangeSweep

from llmsweep.errors import UserError

PRIMITIVE = (str, int, float, bool, type(None))


@dataclass
class SearchSpace:
    distributions: dict  # {key: optuna distribution}
    fixed: list[str]  # overrides that are not searched, as key=value
    exact: dict = field(default_factory=dict)  # {key: Hydra's values} for range(...) keys

    def override(self, key: str, value) -> str:
        """`key=value` for a job; a range key gets the Hydra value nearest the sampled one."""
        if key in self.exact:
            value = min(self.exact[key], key=lambda x: abs(x - value))
        return as_override(key, value)

    def grid(self) -> dict[str, list]:
        """Every value of every key, for the grid sampler: choice(...) and range(...) keys only."""
        grid = {}
        for key, d in self.distributions.items():
            if key in self.exact:
                grid[key] = list(self.exact[key])
            elif hasattr(d, "choices"):
                grid[key] = list(d.choices)
            else:
                raise UserError(
                    f"sampler=grid needs choice(...) or range(...) for every key; {key} is an interval: "
                    f"give it as choice(...) or pick another hydra.sweeper.sampler.name"
                )
        return grid


def to_distribution(ov: Override):
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    v = ov.value()
    key = ov.get_key_element()
    if isinstance(v, ChoiceSweep):
        values = list(v.list) if all(isinstance(x, PRIMITIVE) for x in v.list) else list(ov.sweep_string_iterator())
        return CategoricalDistribution(values)
    if isinstance(v, RangeSweep):
        values = sorted(ov.sweep_iterator())
        if not values:
            raise UserError(f"sweep over {key}: {ov.input_line!r} lists no value; check its start, stop and step")
        step = abs(v.step)
        if all(isinstance(x, int) for x in (v.start, v.stop, v.step)):
            return IntDistribution(values[0], values[-1], step=step)
        # the top end from decimal arithmetic, so Optuna does not shorten the range over a last-digit remainder
        high = float(Decimal(str(values[0])) + (len(values) - 1) * Decimal(str(step)))
        return FloatDistribution(values[0], high, step=float(step))
    if isinstance(v, IntervalSweep):
        log = "log" in v.tags
        if isinstance(v.start, int) and isinstance(v.end, int) and not isinstance(v.start, bool):
            return IntDistribution(int(v.start), int(v.end), log=log)
        return FloatDistribution(float(v.start), float(v.end), log=log)
    raise UserError(f"sweep over {key}: {ov.input_line!r} is not choice(...), range(...) or interval(a,b)")


def split(overrides: list[Override]) -> SearchSpace:
    """The search space and the fixed overrides; a later override of a key wins."""
    space, fixed, exact = {}, {}, {}
    for ov in overrides:
        key = ov.get_key_element()
        for d in (space, fixed, exact):
            d.pop(key, None)
        if ov.is_sweep_override():
            space[key] = to_distribution(ov)
            if isinstance(ov.value(), RangeSweep):
                exact[key] = sorted(ov.sweep_iterator())
        else:
            fixed[key] = f"{key}={ov.get_value_element_as_str()}"
    if not space:
        raise UserError("the sweep has no search space: add +sweeps=NAME or hydra.sweeper.params.KEY='interval(a,b)'")
    return SearchSpace(space, list(fixed.values()), exact)


def as_override(key: str, value) -> str:
    if isinstance(value, float):
        return f"{key}={value!r}"
    return f"{key}={value}"
