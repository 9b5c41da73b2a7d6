"""The name clients ask for (`model`): short and readable by default, the run dir path still accepted."""

from __future__ import annotations

from pathlib import Path

from omegaconf import OmegaConf


def default_model_name(run_dir: str | Path) -> str:
    """`<model>-<method>` of a training run (e.g. mistral-lora), `merge-<method>` of a merge run, both from the
    config choices Hydra recorded in the run dir; else the directory's own name (a saved model, e.g. tiny-mistral)."""
    p = Path(run_dir).expanduser()
    recorded = p / ".hydra" / "hydra.yaml"
    if recorded.is_file():
        choices = OmegaConf.select(OmegaConf.load(recorded), "hydra.runtime.choices", default=None) or {}
        if choices.get("model") and choices.get("method"):
            return f"{choices['model']}-{choices['method']}"
        if choices.get("merge"):
            return f"merge-{choices['merge']}"
    return p.resolve().name or "model"


def path_aliases(run_dir: str | Path) -> list[str]:
    """The run dir as given and as an absolute path, both accepted as `model` (what clients sent before names)."""
    p = Path(run_dir).expanduser()
    return [str(run_dir), str(p), str(p.resolve())]
