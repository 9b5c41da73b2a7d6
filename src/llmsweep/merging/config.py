"""Schema of `merge.py`'s composed config. Light imports only (`merge.py --cfg job` must not load torch,
nor mergekit: `merge.method` is checked against mergekit's own registry when the run starts, recipe.py).

The recipe fields (`merge.*`) are ours only where mergekit's YAML is per-model (weights, densities) so
that a sweep can address them as `merge.weights.0`; everything else mergekit takes as it is through
`merge.parameters` / `merge.model_parameters`. Every value may be any form of mergekit's parameter settings
(a scalar, a gradient list, `{filter, value}` conditions or a list of them); each is checked against the
method's spec before any tensor is read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from omegaconf import MISSING

from llmsweep.config import Choice, RunConf

MOE = "moe"  # our method next to mergekit's registered ones: mergekit's MoE builder (merging/moe.py)


class GateMode(Choice):
    hidden = "hidden"  # hidden states of each expert's prompts, per layer (mergekit's default)
    cheap_embed = "cheap_embed"  # mean token embedding of the prompts, same for every layer
    random = "random"


class Keep(Choice):
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
    method: str = MISSING  # a merge method registered in mergekit (linear, slerp, ties, della, ...) or moe
    models: List[str] = field(default_factory=list)  # run dirs, LoRA adapter dirs or model dirs
    base_model: Optional[str] = None  # null: the adapters' common base (ties, dare_ties, task_arithmetic, moe)
    # per-model settings, one entry per model: a number, a gradient over layers ([0, 0.5, 1]) or filters
    # ([{filter: mlp, value: 0.5}, {value: 0}]), as in mergekit's YAML
    weights: Optional[List[Any]] = None
    densities: Optional[List[Any]] = None  # ties / dare_ties: fraction of each task vector kept
    t: Optional[Any] = None  # slerp: 0 = models[0], 1 = models[1]; a gradient or filters like a weight
    parameters: Dict[str, Any] = field(default_factory=dict)  # mergekit global parameters (normalize, lambda, ...)
    model_parameters: Optional[List[Dict[str, Any]]] = None  # one mapping per model: its other mergekit parameters
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
class _MergeHead:
    merge: MergeConf = MISSING


@dataclass
class MergeRunConf(RunConf, _MergeHead):  # merge prints first (see RunConf)
    # RunConf's data: its eval split gives eval_loss, its prompts the answers; seed: mergekit's random seed
    # (dare_ties drops, random gates); cache_dir: LoRA inputs merged into their base; trainer: evaluation fields
    eval: EvalConf = field(default_factory=EvalConf)
    joint: JointConf = field(default_factory=JointConf)
