"""`merge.*` -> mergekit's own config objects, validated against mergekit's method specs before any
tensor is read: which parameters a method takes, which are required, their types, whether it needs a
base model and how many inputs it accepts all come from `mergekit.merge_methods.get(name).spec`."""

from __future__ import annotations

import logging
from typing import Any

from omegaconf import DictConfig, OmegaConf

from llmsweep.errors import UserError
from llmsweep.merging.config import MOE

log = logging.getLogger(__name__)

# our per-model list fields -> mergekit's per-input parameter names; merge.t -> the shared parameter t
PER_MODEL = {"weights": "weight", "densities": "density"}
ENDPOINT_BASE = {"slerp"}  # interpolates between its two inputs: models[0] is mergekit's base_model
SETTING_FORMS = "a number, a gradient over layers [0, 0.5, 1], or filters [{filter: mlp, value: 0.5}, {value: 0}]"


def _plain(v: Any) -> Any:
    return OmegaConf.to_container(v, resolve=True) if OmegaConf.is_config(v) else v


def methods() -> list[str]:
    """What merge.method accepts: the methods registered in mergekit (its registry is the only list) and moe."""
    import mergekit.merge_methods as mm

    return sorted({x.spec.name for x in mm.registered_methods()} | {MOE})


def check_method(m: DictConfig) -> str:
    method = str(m.method)
    valid = methods()
    if method not in valid:
        raise UserError(
            f"merge.method={method}: not a merge method of mergekit (nor moe). Valid: {', '.join(valid)}. "
            "Fix: merge=<a file of conf/merge> or merge.method=<one of these>"
        )
    return method


def _check(spec_param, value: Any, where: str) -> Any:
    """One parameter setting checked by mergekit's own types: its form (mergekit.config.ParameterSetting: a
    scalar, a gradient list, {filter, value} conditions or a list of them), then every value in it against
    the method's type for the parameter. Returns the setting in mergekit's YAML form with checked values."""
    from mergekit.config import ConditionalParameter, ParameterSetting
    from pydantic import TypeAdapter, ValidationError

    def values(v):  # a scalar or a gradient
        return [spec_param.validate(x) for x in v] if isinstance(v, list) else spec_param.validate(v)

    def condition(c: ConditionalParameter) -> dict:
        return {**({"filter": c.filter} if c.filter is not None else {}), "value": values(c.value)}

    try:
        setting = TypeAdapter(ParameterSetting).validate_python(value)
    except ValidationError:
        raise UserError(f"{where}={value!r}: not a mergekit parameter setting; give {SETTING_FORMS}") from None
    try:
        if isinstance(setting, ConditionalParameter):
            return condition(setting)
        if isinstance(setting, list) and setting and isinstance(setting[0], ConditionalParameter):
            return [condition(c) for c in setting]
        return values(setting)
    except ValidationError as e:
        msg = e.errors()[0]["msg"]
        raise UserError(f"{where}={value!r}: {msg} (mergekit parameter '{spec_param.name}')") from None


def method_spec(method: str):
    import mergekit.merge_methods as mm

    return mm.get(method).spec


def require_models(m: DictConfig) -> None:
    """The cheap checks of a mergekit recipe: inputs given (before torch is imported), then a method mergekit
    knows (its registry imports torch, but no model is read yet)."""
    if len(m.models) == 0:
        raise UserError(
            f"merge={m.method} needs merge.models: a list of run dirs or model dirs, e.g. merge.models=[outputs/a,outputs/b]"
        )
    check_method(m)


def validate(m: DictConfig) -> dict:
    """Check merge.* for a mergekit method; returns {"shared": {...}, "per_model": [{...}, ...]}: mergekit's
    global `parameters` and each model's `parameters`."""
    require_models(m)
    method = str(m.method)
    spec = method_spec(method)
    params = {p.name: p for p in spec.parameters}
    input_names = [p.name for p in spec.input_parameters]
    n = len(m.models)
    c = spec.contract
    if n < c.min_inputs or (c.max_inputs is not None and n > c.max_inputs):
        want = c.min_inputs if c.max_inputs == c.min_inputs else f"{c.min_inputs} to {c.max_inputs or 'any'}"
        raise UserError(f"merge={method} takes {want} models, merge.models has {n}")

    # global parameters: the shared ones, and per-model ones as every model's default (mergekit's precedence)
    shared: dict[str, Any] = {}
    for k, v in (_plain(m.parameters) or {}).items():
        if k not in params:
            takes = ", ".join(params) or "none"
            raise UserError(f"merge.parameters.{k}: not a parameter of mergekit's {method} (it takes: {takes})")
        shared[k] = _check(params[k], v, f"merge.parameters.{k}")
    if m.t is not None:
        if "t" in params:
            shared["t"] = _check(params["t"], _plain(m.t), "merge.t")
        else:
            log.warning("merge.t is not used by merge=%s; ignored", method)

    per_model: list[dict] = [{} for _ in range(n)]
    given = _plain(m.model_parameters)
    if given is not None:
        if len(given) != n:
            raise UserError(
                f"merge.model_parameters has {len(given)} entries but merge.models has {n}: give one mapping per model"
            )
        for i, entry in enumerate(given):
            for k, v in (entry or {}).items():
                if k not in input_names:
                    takes = ", ".join(input_names) or "none"
                    raise UserError(
                        f"merge.model_parameters[{i}].{k}: not a per-model parameter of mergekit's "
                        f"{method} (it takes: {takes}; shared ones go in merge.parameters)"
                    )
                per_model[i][k] = _check(params[k], v, f"merge.model_parameters[{i}].{k}")
    for ours, theirs in PER_MODEL.items():
        values = _plain(m[ours])
        if values is None:
            continue
        if theirs not in params:
            log.warning("merge.%s is not used by merge=%s; ignored", ours, method)
            continue
        if len(values) != n:
            raise UserError(f"merge.{ours} has {len(values)} entries but merge.models has {n}: give one per model")
        for i, v in enumerate(values):
            if theirs in per_model[i]:
                raise UserError(
                    f"merge.{ours}[{i}] and merge.model_parameters[{i}].{theirs} both set {theirs}: give it once"
                )
            per_model[i][theirs] = _check(params[theirs], v, f"merge.{ours}[{i}]")
    if "weight" in input_names and "weight" not in shared:  # mergekit requires it; our default is uniform
        for p in per_model:
            p.setdefault("weight", 1.0)

    missing = [p.name for p in spec.shared_parameters if p.required and p.name not in shared]
    if missing:
        hint = (
            "merge.t=0.5 (0 = models[0], 1 = models[1])" if missing == ["t"] else f"merge.parameters.{missing[0]}=..."
        )
        raise UserError(f"merge={method} needs {', '.join(missing)}: add {hint}")
    return {"shared": shared, "per_model": per_model}


def needs_base(method: str) -> bool:
    from mergekit.merge_methods.base import BasePolicy

    return method not in ENDPOINT_BASE and method_spec(method).contract.base == BasePolicy.REQUIRED


def takes_base(method: str) -> bool:
    """A base model is used when given (required or optional in mergekit's input contract)."""
    from mergekit.merge_methods.base import BasePolicy

    return needs_base(method) or method_spec(method).contract.base == BasePolicy.OPTIONAL


def mergekit_recipe(method: str, checked: dict, models: list[str], base: str | None, dtype: str) -> dict:
    """mergekit's YAML recipe (as a dict) over full-model dirs `models` (and `base`)."""
    if method in ENDPOINT_BASE:
        base = models[0]
    doc = {
        "merge_method": method,
        "models": [
            {"model": path, **({"parameters": p} if p else {})} for path, p in zip(models, checked["per_model"])
        ],
        "dtype": dtype,
    }
    if base is not None:
        doc["base_model"] = base
    if checked["shared"]:
        doc["parameters"] = checked["shared"]
    return doc


def mergekit_config(doc: dict):
    from mergekit.config import MergeConfiguration
    from pydantic import ValidationError

    try:
        return MergeConfiguration.model_validate(doc)
    except ValidationError as e:
        raise UserError(f"merge={doc['merge_method']}: mergekit rejects the recipe: {e}") from None
