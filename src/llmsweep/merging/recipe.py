"""`merge.*` -> mergekit's own config objects, validated against mergekit's method specs before any
tensor is read: which parameters a method takes, which are required, their types, whether it needs a
base model and how many inputs it accepts all come from `mergekit.merge_methods.get(name).spec`."""

from __future__ import annotations

import logging
from typing import Any

from omegaconf import DictConfig, OmegaConf

from llmsweep.errors import UserError

log = logging.getLogger(__name__)

# our per-model list fields -> mergekit's per-input parameter names; merge.t -> the shared parameter t
PER_MODEL = {"weights": "weight", "densities": "density"}
ENDPOINT_BASE = {"slerp"}  # interpolates between its two inputs: models[0] is mergekit's base_model


def _plain(v: Any) -> Any:
    return OmegaConf.to_container(v, resolve=True) if OmegaConf.is_config(v) else v


def _check(spec_param, value: Any, where: str) -> Any:
    """mergekit's own type check of one value (a list is a gradient over layers: each point is checked)."""
    from pydantic import ValidationError

    try:
        if isinstance(value, list):
            return [spec_param.validate(v) for v in value]
        return spec_param.validate(value)
    except ValidationError as e:
        msg = e.errors()[0]["msg"]
        raise UserError(f"{where}={value!r}: {msg} (mergekit parameter '{spec_param.name}')") from None


def method_spec(method: str):
    import mergekit.merge_methods as mm

    return mm.get(method).spec


def require_models(m: DictConfig) -> None:
    if len(m.models) == 0:
        raise UserError(f"merge={m.method} needs merge.models: a list of run dirs or model dirs, e.g. merge.models=[outputs/a,outputs/b]")


def validate(m: DictConfig) -> dict:
    """Check merge.* for a mergekit method; returns {"shared": {...}, "per_model": [{...}, ...]}."""
    method = str(m.method)
    require_models(m)
    spec = method_spec(method)
    params = {p.name: p for p in spec.parameters}
    shared_names = [p.name for p in spec.shared_parameters]
    n = len(m.models)
    c = spec.contract
    if n < c.min_inputs or (c.max_inputs is not None and n > c.max_inputs):
        want = c.min_inputs if c.max_inputs == c.min_inputs else f"{c.min_inputs} to {c.max_inputs or 'any'}"
        raise UserError(f"merge={method} takes {want} models, merge.models has {n}")

    shared: dict[str, Any] = {}
    extra = _plain(m.parameters) or {}
    for k, v in extra.items():
        if k not in shared_names:
            raise UserError(f"merge.parameters.{k}: not a parameter of mergekit's {method} (it takes: {', '.join(shared_names) or 'none'})")
        shared[k] = _check(params[k], v, f"merge.parameters.{k}")
    if m.t is not None:
        if "t" in params:
            shared["t"] = _check(params["t"], _plain(m.t), "merge.t")
        else:
            log.warning("merge.t is not used by merge=%s; ignored", method)

    per_model: list[dict] = [{} for _ in range(n)]
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
            per_model[i][theirs] = _check(params[theirs], v, f"merge.{ours}[{i}]")
    if "weight" in params and m.weights is None:  # mergekit requires it; our default is uniform
        for p in per_model:
            p["weight"] = 1.0

    missing = [p.name for p in spec.shared_parameters if p.required and p.name not in shared]
    if missing:
        hint = "merge.t=0.5 (0 = models[0], 1 = models[1])" if missing == ["t"] else f"merge.parameters.{missing[0]}=..."
        raise UserError(f"merge={method} needs {', '.join(missing)}: add {hint}")
    return {"shared": shared, "per_model": per_model}


def needs_base(method: str) -> bool:
    from mergekit.merge_methods.base import BasePolicy

    return method not in ENDPOINT_BASE and method_spec(method).contract.base == BasePolicy.REQUIRED


def mergekit_recipe(method: str, checked: dict, models: list[str], base: str | None, dtype: str) -> dict:
    """mergekit's YAML recipe (as a dict) over full-model dirs `models` (and `base`)."""
    if method in ENDPOINT_BASE:
        base = models[0]
    doc = {
        "merge_method": method,
        "models": [{"model": path, **({"parameters": p} if p else {})} for path, p in zip(models, checked["per_model"])],
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
