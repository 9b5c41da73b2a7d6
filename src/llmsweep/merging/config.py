"""Schema of `merge.py`'s composed config. Light imports only (`merge.py --cfg job` must not load torch).

The recipe fields (`merge.*`) are ours only where mergekit's YAML is per-model (weights, densities) so
that a sweep can address them as `merge.weights.0`; everything else mergekit takes as it is through
`merge.parameters` and is validated by mergekit's own pydantic models before any tensor is read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING

from llmsweep.config import DataConf, GenerateConf, Scale, TrackingConf, TrialConf, _Choice, register_configs


class MergeMethod(_Choice):
    linear = "linear"
    slerp = "slerp"
    ties = "ties"
    dare_ties = "dare_ties"
    task_arithmetic = "task_arithmetic"
    moe = "moe"


class GateMode(_Choice):
    hidden = "hidden"  # hidden states of each expert's prompts, per layer (mergekit's default)
    cheap_embed = "cheap_embed"  # mean token embedding of the prompts, same for every layer
    random = "random"


class Keep(_Choice):
    best = "best"  # in a sweep: only the best trial so far keeps its merged weights
    all = "all"
    none = "none"


@dataclass
class ExpertConf:
    path: str = MISSING  # a run dir, a LoRA adapter dir or a model dir
    prompts: List[str] = field(default_factory=list)  # positive prompts: what the router sends to this expert
    negative_prompts: List[str] = field(default_factory=list)


@dataclass
class MergeConf:
    method: MergeMethod = MISSING
    models: List[str] = field(default_factory=list)  # run dirs, LoRA adapter dirs or model dirs
    base_model: Optional[str] = None  # null: the adapters' common base (ties, dare_ties, task_arithmetic, moe)
    weights: Optional[List[Any]] = None  # one per model; an entry may be a list (a gradient over layers)
    densities: Optional[List[Any]] = None  # ties / dare_ties: fraction of each task vector kept
    t: Optional[Any] = None  # slerp: 0 = models[0], 1 = models[1]; a list is a gradient over layers
    parameters: Dict[str, Any] = field(default_factory=dict)  # mergekit global parameters (normalize, lambda, ...)
    dtype: str = "float32"
    # MoE (method=moe): experts and their router
    experts: List[ExpertConf] = field(default_factory=list)
    gate_mode: GateMode = GateMode.hidden
    experts_per_token: int = 2
    keep: Keep = Keep.best  # which trials of a sweep keep their merged weights (single runs always do)


@dataclass
class EvalConf:
    # trl.SFTConfig fields for the loss (on top of `trainer`): the same loss as a training run's eval_loss
    args: Dict[str, Any] = field(default_factory=dict)
    # more eval splits: name -> data.* overrides (+eval.sets.qa={path: data/qa}); metric eval_<name>_loss
    sets: Dict[str, Dict[str, Any]] = field(default_factory=dict)


@dataclass
class JointExpertConf:
    name: str = MISSING
    overrides: List[str] = field(default_factory=list)  # train.py overrides of this expert, e.g. ["data.path=data/qa"]


@dataclass
class JointConf:
    """Joint study: the trial trains its merge inputs itself (train.py's config, composed per expert),
    so a sweep searches training and merge settings together."""

    experts: List[JointExpertConf] = field(default_factory=list)  # empty: merge.models are given
    train: Dict[str, Any] = field(default_factory=dict)  # train.py keys set on every expert (searched keys live here)


@dataclass
class MergeRunConf:
    merge: MergeConf = MISSING
    data: DataConf = MISSING  # its eval split gives eval_loss; its prompts the answers
    tracking: TrackingConf = MISSING
    scale: Scale = Scale.tiny
    seed: int = 42  # mergekit's random seed (dare_ties drops, random gates)
    objective: Any = "eval_loss"
    cache_dir: str = "~/.cache/llmsweep"  # LoRA inputs merged into their base are cached here
    trainer: Dict[str, Any] = field(default_factory=dict)  # TrainingArguments fields for evaluation (per scale)
    eval: EvalConf = field(default_factory=EvalConf)
    generate: GenerateConf = field(default_factory=GenerateConf)
    joint: JointConf = field(default_factory=JointConf)
    trial: TrialConf = field(default_factory=TrialConf)
    judge: Dict[str, Any] = field(default_factory=lambda: {"name": "none", "_target_": None})  # conf/judge/*.yaml


def register_merge_configs() -> None:
    register_configs()  # resolvers shared with train.py (samples, per_scale)
    ConfigStore.instance().store(name="merge_schema", node=MergeRunConf)
