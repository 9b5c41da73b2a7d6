"""`merge.*` -> a merged model dir: inputs resolved and checked (no tensor read), the recipe validated,
LoRA inputs merged into their base, then mergekit's Python API (`run_merge`, or the MoE builder)."""

from __future__ import annotations

import logging
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from omegaconf import DictConfig

from llmsweep.config import cache_root
from llmsweep.errors import UserError
from llmsweep.merging import inputs as inp
from llmsweep.merging import moe, recipe
from llmsweep.merging.config import MOE

log = logging.getLogger(__name__)


@dataclass
class Merged:
    out_dir: Path
    recipe: dict  # the mergekit config that ran (its own YAML form): W&B config, metrics.json
    model_type: str
    seconds: dict = field(default_factory=dict)


def _common_base(models: list[inp.Input], method: str) -> inp.Input:
    bases = {m.model_dir for m in models if m.adapter_dir is not None}
    if len(bases) == 1 and all(m.adapter_dir is not None for m in models):
        base = bases.pop()
        return inp.Input("the adapters' base", str(base), base)
    raise UserError(
        f"merge={method} needs merge.base_model (the model the inputs were fine-tuned from): it is inferred only when "
        "every input is a LoRA run of the same base. Fix: merge.base_model=/path/to/base."
    )


def plan(m: DictConfig) -> tuple[list[inp.Input], inp.Input | None, dict | None]:
    """Validate the recipe, resolve the inputs and the base, check them all alike.
    Reads configs and safetensors headers only, no tensors. Returns (models, base, checked parameters)."""
    method = str(m.method)
    checked = None
    if method == MOE:
        moe.validate(m)
        models = [inp.resolve(e.path, f"merge.experts[{i}]") for i, e in enumerate(m.experts)]
        base = (
            inp.resolve(m.base_model, "merge.base_model")
            if m.base_model
            else (_common_base(models, method) if all(x.adapter_dir for x in models) else models[0])
        )
    else:
        checked = recipe.validate(m)  # counts and parameter names/types first: cheaper than reading the inputs
        models = [inp.resolve(p, f"merge.models[{i}]") for i, p in enumerate(m.models)]
        base = None
        if recipe.needs_base(method):
            base = inp.resolve(m.base_model, "merge.base_model") if m.base_model else _common_base(models, method)
        elif m.base_model and recipe.takes_base(method):  # optional in mergekit's contract: used when given
            base = inp.resolve(m.base_model, "merge.base_model")
        elif m.base_model:
            log.warning("merge.base_model is not used by merge=%s; ignored", method)
    inp.check_compatible(models + ([base] if base else []))
    return models, base, checked


def merge(cfg: DictConfig, out_dir: Path) -> Merged:
    m = cfg.merge
    method = str(m.method)
    t0 = time.perf_counter()
    models, base, checked = plan(m)
    model_type = inp.architecture(models[0].model_dir)[0]
    t1 = time.perf_counter()
    out_dir.mkdir(parents=True, exist_ok=True)
    # adapters trained by this very trial (joint study) are never seen again: merged into a scratch dir, not the cache
    scratch = tempfile.TemporaryDirectory(dir=out_dir.parent, prefix=".adapters.") if cfg.joint.experts else None
    cache = Path(scratch.name) if scratch else cache_root(cfg)
    try:
        paths = [str(inp.materialize(x, cache, m.dtype)) for x in models]
        base_path = str(inp.materialize(base, cache, m.dtype)) if base else None
        t2 = time.perf_counter()
        doc = _run_mergekit(cfg, paths, base_path, checked, model_type, out_dir)
    finally:
        if scratch:
            scratch.cleanup()
    t3 = time.perf_counter()
    log.info("merge=%s of %d models -> %s in %.2fs", method, len(paths), out_dir, t3 - t2)
    return Merged(out_dir, doc, model_type, {"check_s": t1 - t0, "adapters_s": t2 - t1, "merge_s": t3 - t2})


def _run_mergekit(
    cfg: DictConfig, paths: list[str], base_path: str | None, checked: dict | None, model_type: str, out_dir: Path
) -> dict:
    """mergekit's Python API on full-model dirs; returns the recipe that ran (mergekit's YAML form)."""
    m = cfg.merge
    method = str(m.method)
    if method == MOE:
        config = moe.moe_config(m, paths, base_path, m.dtype, model_type)
        moe.build(config, str(out_dir), cfg.seed, _device())
        doc = config.model_dump(mode="json", exclude_none=True)
    else:
        from mergekit.merge import run_merge
        from mergekit.options import MergeOptions

        doc = recipe.mergekit_recipe(method, checked, paths, base_path, m.dtype)
        config = recipe.mergekit_config(doc)
        run_merge(config, str(out_dir), MergeOptions(random_seed=cfg.seed, quiet=True, device=_device()))
    return doc


def _device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"
