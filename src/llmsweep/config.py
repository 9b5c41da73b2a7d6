"""Structured configs: the schema every composed config is validated against.

Kept free of heavy imports (no torch/transformers) so `train.py --cfg job` stays fast.
Fields that belong to trl, peft or transformers are passed through as plain mappings
(`method.args` -> trl's SFTConfig/DPOConfig, `method.lora` -> peft.LoraConfig,
`method.quantization` -> transformers.BitsAndBytesConfig) rather than re-described here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Dict, List, Optional

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING, OmegaConf

from llmsweep.models.memory import DevicesConf  # light: heavy imports only inside its functions
from llmsweep.paths import SAMPLES_DIR, cache_root  # noqa: F401  (cache_root: re-exported for callers)


class Choice(str, Enum):
    """Enum whose str() is its value, so `str(cfg.scale) == "tiny"`."""

    def __str__(self) -> str:
        return self.value


class Scale(Choice):
    tiny = "tiny"  # build the architecture from its config class at a tiny shape, local tokenizer
    full = "full"  # load the named checkpoint


class Recipe(Choice):
    sft = "sft"
    dpo = "dpo"


class DataFormat(Choice):
    dolly = "dolly"  # {"instruction","context","response","category"}
    prefs = "prefs"  # {"prompt","chosen","rejected"}


class Backend(Choice):
    wandb = "wandb"
    none = "none"


@dataclass
class ModelConf:
    name: str = MISSING
    checkpoint: str = MISSING  # hub id or local dir of the real model (scale=full)
    model_type: str = MISSING  # transformers model_type of both shapes: llama | mistral | mixtral | gpt_neox
    tiny: Dict[str, Any] = field(default_factory=dict)  # config-class kwargs of the tiny shape
    dtype: str = "auto"  # dtype for scale=full loads
    revision: Optional[str] = None
    # the system message of every prompt without one; null: whatever the chat template does by default
    system_prompt: Optional[str] = None
    # transformers' attention kernel (sdpa, eager, flash_attention_2, ...), or sdpa_per_document: SDPA on each
    # document of a packed row (llmsweep.models.attention); null: sdpa_per_document when method.args.packing is
    # on, else transformers' default. A GPU with flash-attn: flash_attention_2 (its varlen kernel does the same)
    attn_implementation: Optional[str] = None


@dataclass
class MethodConf:
    name: str = MISSING
    recipe: Recipe = MISSING
    lora: Optional[Dict[str, Any]] = None  # peft.LoraConfig fields; null = train all weights
    quantization: Optional[Dict[str, Any]] = None  # transformers.BitsAndBytesConfig fields
    args: Dict[str, Any] = field(default_factory=dict)  # trl SFTConfig / DPOConfig fields


@dataclass
class DataConf:
    name: str = MISSING
    format: DataFormat = MISSING
    path: str = MISSING
    eval_size: int = 32
    max_rows: Optional[int] = None
    seed: int = 0


@dataclass
class TrackingConf:
    backend: Backend = Backend.wandb
    project: str = "llmsweep"
    entity: Optional[str] = None
    mode: Optional[str] = None  # online | offline | disabled; null: WANDB_MODE, else online iff WANDB_API_KEY
    group: Optional[str] = None  # null: the multirun's sweep name
    tags: List[str] = field(default_factory=list)


@dataclass
class TinyBaseConf:
    """How scale=tiny makes its stand-in for a pretrained checkpoint (shared by every tiny run)."""

    vocab_size: int = 2048
    corpus: List[str] = field(default_factory=list)  # JSON Lines files: tokenizer + pretraining text
    pretrain_steps: int = 300  # causal-LM steps on the corpus; 0 keeps the random init


@dataclass
class GenerateConf:
    num_prompts: int = 8
    max_new_tokens: int = 48


@dataclass
class TrialConf:
    """Set by the Optuna sweeper on each trial's job: where to report for pruning."""

    study_name: Optional[str] = None  # None: not a trial of a sweep
    storage: Optional[str] = None
    number: Optional[int] = None
    trial_id: Optional[int] = None


@dataclass
class CheckpointConf:
    """Preemption safety (llmsweep.training.preemption). The periodic interval is the trainer's own
    `trainer.save_strategy: steps` + `trainer.save_steps`; these add saving on a scheduler's signal."""

    # SIGINT (Ctrl-C) too: a local run stops like a preempted one, with a checkpoint to continue from
    signals: List[str] = field(default_factory=lambda: ["SIGUSR1", "SIGUSR2", "SIGTERM", "SIGINT"])
    resume: bool = True  # a run dir holding checkpoints/checkpoint-N continues from the last one


@dataclass
class DistributedConf:
    """conf/distributed/*.yaml: how one trial runs over devices.per_node x devices.nodes processes."""

    name: str = "none"  # none | ddp | fsdp | deepspeed
    backend: Optional[str] = None  # torch.distributed backend; null: nccl with CUDA, gloo without
    trainer: Dict[str, Any] = field(default_factory=dict)  # transformers.TrainingArguments fields of the mode


@dataclass
class RunConf:
    """What every run kind shares (train.py, merge.py): its data, tracking, seed, objective and evaluation.
    A run kind's own main sections come from a head dataclass listed after it (`class TrainConf(RunConf,
    _TrainHead)`) so that they print first in `--cfg job`; its other fields follow these."""

    data: DataConf = MISSING  # training data and its eval split (a merge: the eval split and answer prompts)
    tracking: TrackingConf = MISSING
    scale: Scale = Scale.tiny
    seed: int = 42
    objective: Any = "eval_loss"  # metrics.json key (or list of keys) returned to the sweeper
    cache_dir: str = "~/.cache/llmsweep"
    threads: Optional[int] = None  # torch CPU threads of the run's process; null: torch's default (one per core)
    trainer: Dict[str, Any] = field(default_factory=dict)  # transformers.TrainingArguments fields (per scale)
    generate: GenerateConf = field(default_factory=GenerateConf)
    trial: TrialConf = field(default_factory=TrialConf)
    judge: Dict[str, Any] = field(default_factory=lambda: {"name": "none", "_target_": None})  # conf/judge/*.yaml


@dataclass
class _TrainHead:
    model: ModelConf = MISSING
    method: MethodConf = MISSING


@dataclass
class TrainConf(RunConf, _TrainHead):  # dataclass fields follow the reversed MRO: the head's print first
    tiny_base: TinyBaseConf = field(default_factory=TinyBaseConf)
    checkpoint: CheckpointConf = field(default_factory=CheckpointConf)
    distributed: DistributedConf = field(default_factory=DistributedConf)
    devices: DevicesConf = field(default_factory=DevicesConf)


@dataclass
class ServeRagConf:
    """serve.py rag.*: answers with retrieved context and their sources (llmsweep.serving.rag); index null: off."""

    index: Optional[str] = None  # an index dir built by `python -m llmsweep.rag ingest`
    retriever: str = "bm25"  # bm25 | dense | hybrid (conf/retriever/*.yaml)
    model: Optional[str] = None  # dense/hybrid: a local embedding model dir
    weight: Optional[float] = None  # hybrid: the dense share (null: conf/retriever/hybrid.yaml's)
    top_k: int = 3
    prompt: str = "grounded"  # a template of llmsweep.rag.prompting, or:
    template: Optional[str] = None  # your own, with {context} and {question}


@dataclass
class ServeConf:
    """serve.py: one run dir (or model dir) behind the OpenAI chat-completions protocol."""

    run_dir: str = MISSING  # a run dir (serves its model/), a merge output or any saved model directory
    model_name: str = MISSING  # the `model` clients ask for; auto: <model>-<method> of a run, else the dir name
    host: str = "127.0.0.1"  # a non-loopback host needs a token
    port: int = 8000
    token_env: str = "LLMSWEEP_API_TOKEN"  # environment variable holding the bearer token (never in config)
    max_tokens: int = 512  # upper limit of a request's max_tokens (and its default)
    max_request_bytes: int = 1_000_000  # larger bodies get 413
    queue_size: int = 64  # requests waiting behind the running one; more get 503
    log_level: str = "info"
    engine: Dict[str, Any] = field(default_factory=dict)  # conf/engine/*.yaml: `_target_` loader + its options
    rag: ServeRagConf = field(default_factory=ServeRagConf)


def _per_scale(tiny: Any, full: Any, *, _root_: Any) -> Any:
    """`${per_scale:A,B}`: A at scale=tiny, B at scale=full (e.g. learning rates)."""
    return tiny if str(_root_.scale) == "tiny" else full


def _app_groups(*extra: str, _root_: Any) -> str:
    """`${app_groups:EXTRA,...}` in a help template: the groups this app's defaults list chose, plus EXTRA,
    with their options. Hydra's $APP_CONFIG_GROUPS would list every group under conf/, which train, merge
    and serve share."""
    from hydra.core.global_hydra import GlobalHydra

    loader = GlobalHydra.instance().config_loader()
    groups = sorted({g for g in _root_.hydra.runtime.choices if not g.startswith("hydra")} | set(extra))
    return "\n".join(f"{g}: {', '.join(sorted(loader.get_group_options(g)))}" for g in groups)


def register_configs() -> None:
    """The schemas of every app (train_schema, merge_schema, serve_schema, rag_schema) and the resolvers their YAML uses."""
    from llmsweep.merging.config import MergeRunConf  # imports this module: a top-level import would be circular
    from llmsweep.rag.config import RagRunConf

    resolvers = {"samples": lambda name: str(SAMPLES_DIR / name), "per_scale": _per_scale, "app_groups": _app_groups}
    for name, fn in resolvers.items():
        if not OmegaConf.has_resolver(name):
            OmegaConf.register_new_resolver(name, fn)
    cs = ConfigStore.instance()
    cs.store(name="train_schema", node=TrainConf)
    cs.store(name="merge_schema", node=MergeRunConf)
    cs.store(name="serve_schema", node=ServeConf)
    cs.store(name="rag_schema", node=RagRunConf)
