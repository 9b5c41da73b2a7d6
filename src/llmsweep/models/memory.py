"""Per-device memory of a training run, estimated before launch, and the check that refuses one that cannot fit.

The parameter counts come from the architecture itself: transformers builds the model from its config on the
`meta` device (no weights, no memory) and peft adds the LoRA adapters there, so the counts are the libraries'
own, for any architecture. The config is the model's published config.json, from `SHAPES` below (keyed by
checkpoint: scale=full must be checkable where the checkpoint is absent) or from a local checkpoint directory;
nothing is downloaded or looked up on the hub.

Bytes per parameter (mixed-precision training with AdamW, the ZeRO paper's accounting):
  full    bf16 weights 2 + bf16 grads 2 + fp32 master 4 + two fp32 moments 8 = 16
  LoRA    frozen bf16 base 2; adapters in fp32 with grads and moments 16 (peft upcasts adapters to fp32)
  QLoRA   4-bit base 0.5 + quantization constants on the weights bitsandbytes replaces (nn.Linear except the
          output head); everything else (embeddings, norms, head, transformers 5's fused MoE experts) bf16 2
  DPO     full: a second frozen bf16 copy as the reference; LoRA/QLoRA: the adapter-disabled base is the
          reference (trl's default with a peft model), no copy
Sharding divides by the world size: FSDP full shard (ZeRO-3) weights, grads and optimizer states; shard-grad-op
(ZeRO-2) grads and optimizer states; DDP replicates everything.
Activations (bf16, per device) follow Korthikanti et al. 2022 ("Reducing Activation Recomputation in Large
Transformer Models") with fused attention (no stored score matrix) and no dropout: per token and layer the
attention keeps ~5 h values, the two norms 2 h, the MLP its input h plus 2 I values (GELU) or 4 I (gated SiLU)
for each of the k experts a token is routed to. With activation checkpointing only each layer's input (h values
per token) is kept, plus one layer recomputed during backward. Logits: bf16 + an fp32 upcast + its fp32
gradient, 10 bytes per token and vocabulary entry. DPO runs chosen and rejected together: twice the batch.
FSDP full shard also holds one decoder layer gathered plus the next one prefetched (and, for full training, the
unsharded gradient of one layer before its reduce-scatter). A fixed 1 GB covers the CUDA context, NCCL and
cuBLAS workspaces.

GB here is 10^9 bytes, compared against `devices.memory_gb` x 10^9: an "80 GB" A100 has 80 GiB = 85.9 x 10^9
bytes, so the ~7 % between them is deliberate headroom for allocator fragmentation and what this model omits.
"""

from __future__ import annotations

import functools
import json
import logging
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Dict, Mapping, Optional

from omegaconf import DictConfig, OmegaConf

from llmsweep.errors import UserError

log = logging.getLogger(__name__)

GB = 1e9
RUNTIME_BYTES = 1 * GB  # CUDA context, NCCL buffers, cuBLAS workspace
ADAMW_MIXED = {"weights": 2, "gradients": 2, "optimizer": 12}  # bytes per trained parameter (bf16 + fp32 AdamW)
ADAPTER = {"weights": 4, "gradients": 4, "optimizer": 8}  # peft keeps adapters in fp32
BNB_BLOCK = 64  # bitsandbytes 4-bit block size: one absmax per 64 weights
BNB_NESTED_BLOCK = 256  # double quantization: 8-bit absmax, one fp32 constant per 256 blocks
# LoRA of a suggested method=lora/qlora when the run's method has none: conf/method/lora.yaml's
DEFAULT_LORA = {"r": 8, "lora_alpha": 16, "target_modules": "all-linear", "task_type": "CAUSAL_LM"}
FSDP_OVERRIDE = "distributed=fsdp"  # the config-group choice that turns on FSDP full sharding

# Published config.json fields of the checkpoints conf/model/*.yaml names (https://huggingface.co/<id>/blob/main/
# config.json). model_type comes from the model yaml. Add a checkpoint here, or point model.checkpoint at a
# local directory holding its config.json.
SHAPES: Dict[str, Dict[str, Any]] = {
    # Polyglot-Ko (EleutherAI): GPT-NeoX, untied embeddings; 30003 tokens padded to a 30080-row embedding
    "EleutherAI/polyglot-ko-1.3b": dict(
        hidden_size=2048,
        intermediate_size=8192,
        num_hidden_layers=24,
        num_attention_heads=16,
        vocab_size=30080,
        rotary_pct=0.5,
        tie_word_embeddings=False,
    ),
    "EleutherAI/polyglot-ko-5.8b": dict(
        hidden_size=4096,
        intermediate_size=16384,
        num_hidden_layers=28,
        num_attention_heads=16,
        vocab_size=30080,
        rotary_pct=0.5,
        tie_word_embeddings=False,
    ),
    "EleutherAI/polyglot-ko-12.8b": dict(
        hidden_size=5120,
        intermediate_size=20480,
        num_hidden_layers=40,
        num_attention_heads=40,
        vocab_size=30080,
        rotary_pct=0.5,
        tie_word_embeddings=False,
    ),
    # Mistral-7B-v0.1: 32 layers, grouped-query attention (8 KV heads)
    "mistralai/Mistral-7B-v0.1": dict(
        hidden_size=4096,
        intermediate_size=14336,
        num_hidden_layers=32,
        num_attention_heads=32,
        num_key_value_heads=8,
        vocab_size=32000,
        tie_word_embeddings=False,
    ),
    # Mixtral-8x7B-v0.1: Mistral-7B's shape with 8 experts per MLP, 2 routed per token
    "mistralai/Mixtral-8x7B-v0.1": dict(
        hidden_size=4096,
        intermediate_size=14336,
        num_hidden_layers=32,
        num_attention_heads=32,
        num_key_value_heads=8,
        vocab_size=32000,
        num_local_experts=8,
        num_experts_per_tok=2,
        tie_word_embeddings=False,
    ),
    # SOLAR-10.7B-v1.0: Llama architecture, Mistral-7B's layer shape depth-upscaled to 48 layers
    "upstage/SOLAR-10.7B-v1.0": dict(
        hidden_size=4096,
        intermediate_size=14336,
        num_hidden_layers=48,
        num_attention_heads=32,
        num_key_value_heads=8,
        vocab_size=32000,
        tie_word_embeddings=False,
    ),
    # SmolLM2-135M-Instruct: Llama architecture, tied embeddings (scale=cpu's model, see conf/model/smollm2_135m.yaml)
    "HuggingFaceTB/SmolLM2-135M-Instruct": dict(
        hidden_size=576,
        intermediate_size=1536,
        num_hidden_layers=30,
        num_attention_heads=9,
        num_key_value_heads=3,
        vocab_size=49152,
        tie_word_embeddings=True,
    ),
    "meta-llama/Llama-2-13b-hf": dict(
        hidden_size=5120,
        intermediate_size=13824,
        num_hidden_layers=40,
        num_attention_heads=40,
        num_key_value_heads=40,
        vocab_size=32000,
        tie_word_embeddings=False,
    ),
}
# KoAlpaca-Polyglot-12.8B is a fine-tune of Polyglot-Ko 12.8B with the same shape
SHAPES["beomi/KoAlpaca-Polyglot-12.8B"] = SHAPES["EleutherAI/polyglot-ko-12.8b"]


@dataclass
class DevicesConf:
    """What one trial runs on: `devices.nodes` x `devices.per_node` GPUs of `devices.memory_gb` each."""

    memory_gb: float = 80.0  # one A100-80GB
    per_node: int = 1
    nodes: int = 1
    check: bool = True  # false: print the estimate but launch anyway

    @property
    def world_size(self) -> int:
        return self.per_node * self.nodes


@dataclass(frozen=True)
class Profile:
    """What the estimate needs to know about an architecture, counted by the libraries on the meta device."""

    params: int  # all parameters
    quantizable: int  # weights bitsandbytes replaces (nn.Linear except the output head)
    layer_params: int  # the largest decoder layer (FSDP's wrapping unit)
    layer_quantizable: int
    layers: int
    hidden: int
    intermediate: int
    vocab: int
    experts_per_token: int
    gated_mlp: bool


@dataclass(frozen=True)
class Plan:
    """One way to run a job: method kind, recipe, devices, sharding, batch shape."""

    kind: str  # full | lora | qlora
    recipe: str  # sft | dpo
    world_size: int
    sharding: str  # replicate | shard_grad_op | full_shard
    memory_gb: float
    batch: int  # per device
    seq_len: int
    checkpointing: bool
    lora_params: int = 0
    quant_bits: int = 4
    double_quant: bool = True
    per_node: int = 1


@dataclass(frozen=True)
class Estimate:
    model: str
    plan: Plan
    profile: Profile
    parts: Dict[str, float] = field(default_factory=dict)  # bytes per device

    @property
    def total_gb(self) -> float:
        return sum(self.parts.values()) / GB

    @property
    def fits(self) -> bool:
        return self.total_gb <= self.plan.memory_gb

    def breakdown(self) -> str:
        parts = " + ".join(f"{k} {v / GB:.1f}" for k, v in self.parts.items() if v)
        p = self.plan
        where = f"{p.world_size} x {p.memory_gb:g} GB" + (f" {p.sharding}" if p.world_size > 1 else "")
        return f"{parts} = {self.total_gb:.1f} GB per device on {where}"


# ---------------------------------------------------------------------------------------------- the model


def model_shape(cfg: DictConfig) -> Optional[Dict[str, Any]]:
    """The transformers config fields of the model a run trains, without loading or looking anything up remotely."""
    if str(cfg.scale) == "tiny":
        return {**OmegaConf.to_container(cfg.model.tiny, resolve=True), "vocab_size": int(cfg.tiny_base.vocab_size)}
    ckpt = str(cfg.model.checkpoint)
    if ckpt in SHAPES:
        return dict(SHAPES[ckpt])
    local = Path(ckpt).expanduser() / "config.json"
    if local.is_file():
        fields = json.loads(local.read_text(encoding="utf-8"))
        return {k: v for k, v in fields.items() if k not in ("model_type", "architectures", "transformers_version")}
    return None


def _freeze(d: Mapping[str, Any]) -> tuple:
    return tuple(sorted((k, json.dumps(v, sort_keys=True)) for k, v in d.items()))


@functools.lru_cache(maxsize=32)
def _meta_model(model_type: str, shape: tuple):
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    config = AutoConfig.for_model(model_type, **{k: json.loads(v) for k, v in shape})
    with torch.device("meta"):
        return AutoModelForCausalLM.from_config(config)


def _decoder_layers(model):
    import torch

    n = model.config.num_hidden_layers
    for _, module in model.named_modules():
        if isinstance(module, torch.nn.ModuleList) and len(module) == n:
            return list(module)
    raise ValueError(f"no list of {n} decoder layers in {type(model).__name__}")


def _quantizable(module) -> int:
    """Weights bitsandbytes turns into 4/8-bit: those of nn.Linear (transformers keeps the output head as is)."""
    import torch

    return sum(
        m.weight.numel()
        for name, m in module.named_modules()
        if isinstance(m, torch.nn.Linear) and name.split(".")[-1] != "lm_head"
    )


@functools.lru_cache(maxsize=32)
def _profile(model_type: str, shape: tuple) -> Profile:
    model = _meta_model(model_type, shape)
    c = model.config
    layers = _decoder_layers(model)
    biggest = max(layers, key=lambda layer: sum(p.numel() for p in layer.parameters()))
    names = [n for n, _ in model.named_parameters()]
    return Profile(
        params=sum(p.numel() for p in model.parameters()),
        quantizable=_quantizable(model),
        layer_params=sum(p.numel() for p in biggest.parameters()),
        layer_quantizable=_quantizable(biggest),
        layers=c.num_hidden_layers,
        hidden=c.hidden_size,
        intermediate=c.intermediate_size,
        vocab=c.vocab_size,
        experts_per_token=getattr(c, "num_experts_per_tok", None) or 1,
        gated_mlp=any("gate_proj" in n or "gate_up_proj" in n for n in names),
    )


@functools.lru_cache(maxsize=32)
def _lora_params(model_type: str, shape: tuple, lora: tuple) -> int:
    """Trainable parameters peft adds for this LoRA config (its own targeting, e.g. all-linear, fused experts)."""
    import copy

    from peft import LoraConfig, get_peft_model

    fields = {k: json.loads(v) for k, v in lora}
    model = copy.deepcopy(_meta_model(model_type, shape))  # peft wraps in place: keep the cached model clean
    peft_model = get_peft_model(model, LoraConfig(**fields))
    return sum(p.numel() for p in peft_model.parameters() if p.requires_grad)


# ---------------------------------------------------------------------------------------------- the estimate


def estimate(model: str, profile: Profile, plan: Plan) -> Estimate:
    P, Q, L = profile.params, profile.quantizable, plan.lora_params
    w = plan.world_size
    shard_weights = w if plan.sharding == "full_shard" else 1
    shard_states = w if plan.sharding in ("full_shard", "shard_grad_op") else 1
    parts: Dict[str, float] = {}

    if plan.kind == "qlora":
        per_weight = plan.quant_bits / 8
        if plan.quant_bits == 4:
            per_weight += 1 / BNB_BLOCK + 4 / (BNB_BLOCK * BNB_NESTED_BLOCK) if plan.double_quant else 4 / BNB_BLOCK
        base_bytes = Q * per_weight + (P - Q) * 2
        layer_bytes = profile.layer_quantizable * per_weight + (profile.layer_params - profile.layer_quantizable) * 2
    else:
        base_bytes, layer_bytes = P * 2, profile.layer_params * 2

    if plan.kind == "full":
        parts["weights"] = base_bytes / shard_weights
        parts["gradients"] = P * ADAMW_MIXED["gradients"] / shard_states
        parts["optimizer"] = P * ADAMW_MIXED["optimizer"] / shard_states
        parts["reference"] = base_bytes / shard_weights if plan.recipe == "dpo" else 0.0
    else:
        parts["weights"] = base_bytes / shard_weights + L * ADAPTER["weights"] / shard_weights
        parts["gradients"] = L * ADAPTER["gradients"] / shard_states
        parts["optimizer"] = L * ADAPTER["optimizer"] / shard_states

    parts["activations"] = activation_bytes(profile, plan)
    if plan.sharding == "full_shard" and w > 1:  # one layer gathered + one prefetched (+ its unsharded grads)
        parts["fsdp buffers"] = 2 * layer_bytes + (profile.layer_params * 2 if plan.kind == "full" else 0)
    parts["runtime"] = RUNTIME_BYTES
    return Estimate(model, plan, profile, parts)


def activation_bytes(profile: Profile, plan: Plan) -> float:
    tokens = plan.batch * plan.seq_len * (2 if plan.recipe == "dpo" else 1)  # DPO: chosen + rejected
    h, i, k = profile.hidden, profile.intermediate, profile.experts_per_token
    per_layer = 2 * tokens * (8 * h + (4 if profile.gated_mlp else 2) * i * k)  # bf16 values, see module doc
    if plan.checkpointing:
        layers = profile.layers * 2 * tokens * h + per_layer  # inputs of every layer + one being recomputed
    else:
        layers = profile.layers * per_layer
    return layers + 10 * tokens * profile.vocab


# ---------------------------------------------------------------------------------------------- from a config


def devices_of(cfg: DictConfig) -> DevicesConf:
    d = cfg.get("devices")
    return DevicesConf(**OmegaConf.to_container(d, resolve=True)) if d is not None else DevicesConf()


def sharding_of(cfg: DictConfig, world_size: int) -> str:
    """replicate | shard_grad_op | full_shard, from `distributed.sharding`, `distributed.name` or trainer.fsdp."""
    dist = cfg.get("distributed") or {}
    said = " ".join(str(x) for x in (dist.get("sharding"), dist.get("name"), cfg.trainer.get("fsdp")) if x).lower()
    if world_size == 1:
        return "replicate"
    if any(s in said for s in ("full_shard", "fsdp", "zero3", "zero_3", "hybrid_shard")):
        return "full_shard" if "shard_grad_op" not in said else "shard_grad_op"
    if any(s in said for s in ("shard_grad_op", "zero2", "zero_2")):
        return "shard_grad_op"
    return "replicate"


def method_kind(method: DictConfig) -> tuple[str, int, bool]:
    """(full | lora | qlora, quantization bits, double quantization) of a method config."""
    q = method.get("quantization") or {}
    if q.get("load_in_4bit") or q.get("load_in_8bit"):
        return "qlora", 4 if q.get("load_in_4bit") else 8, bool(q.get("bnb_4bit_use_double_quant"))
    return ("lora" if method.get("lora") else "full"), 16, False


def plan_of(cfg: DictConfig) -> Plan:
    devices = devices_of(cfg)
    kind, bits, dq = method_kind(cfg.method)
    trainer = cfg.trainer
    checkpointing = trainer.get("activation_checkpointing", trainer.get("gradient_checkpointing", False))
    return Plan(
        kind=kind,
        recipe=str(cfg.method.recipe),
        world_size=devices.world_size,
        per_node=devices.per_node,
        sharding=sharding_of(cfg, devices.world_size),
        memory_gb=float(devices.memory_gb),
        batch=int(trainer.get("per_device_train_batch_size", 8)),
        seq_len=int(cfg.method.args.get("max_length") or 1024),  # trl's default max_length
        checkpointing=bool(checkpointing),
        quant_bits=bits,
        double_quant=dq,
    )


def _lora_fields(cfg: DictConfig) -> dict:
    lora = cfg.method.get("lora")
    fields = OmegaConf.to_container(lora, resolve=True) if lora else dict(DEFAULT_LORA)
    fields["lora_dropout"] = 0.0  # no effect on the count; peft adapts fused MoE experts only without dropout
    return fields


def estimate_cfg(cfg: DictConfig) -> Optional[Estimate]:
    """The estimate of a composed training config; None when the model's shape is unknown here."""
    shape = model_shape(cfg)
    if shape is None:
        return None
    key = (str(cfg.model.model_type), _freeze(shape))
    plan = plan_of(cfg)
    if plan.kind != "full":
        plan = replace(plan, lora_params=_lora_params(*key, _freeze(_lora_fields(cfg))))
    return estimate(str(cfg.model.name), _profile(*key), plan)


# ---------------------------------------------------------------------------------------------- the check

CHEAPER = {"full": ("lora", "qlora"), "lora": ("qlora",), "qlora": ()}
METHOD_OVERRIDE = {
    ("sft", "full"): "method=full",
    ("sft", "lora"): "method=lora",
    ("sft", "qlora"): "method=qlora",
    ("dpo", "full"): "method=dpo method.lora=null",
    ("dpo", "lora"): "method=dpo",
    ("dpo", "qlora"): "method=dpo_qlora",
}
WORLD_SIZES = [(per_node, nodes) for nodes in (1, 2, 4, 8) for per_node in (1, 2, 4, 8) if per_node == 8 or nodes == 1]


def _alternatives(cfg: DictConfig, est: Estimate) -> list[tuple[str, Estimate]]:
    """Configurations that fit, each the smallest change along one axis: more GPUs with FSDP (same method),
    a cheaper method on the declared devices, the same method on 80 GB devices."""
    key = (str(cfg.model.model_type), _freeze(model_shape(cfg)))
    lora = _lora_params(*key, _freeze(_lora_fields(cfg)))
    plan = est.plan
    found: list[tuple[str, Estimate]] = []

    def first_fit(kind: str, memory_gb: float, worlds) -> Optional[tuple[str, Estimate]]:
        for per_node, nodes in worlds:
            world = per_node * nodes
            sharding = "full_shard" if world > 1 else "replicate"
            p = replace(
                plan,
                kind=kind,
                memory_gb=memory_gb,
                world_size=world,
                per_node=per_node,
                sharding=sharding,
                lora_params=lora if kind != "full" else 0,
                quant_bits=4 if kind == "qlora" and plan.kind != "qlora" else plan.quant_bits,
                double_quant=True if kind == "qlora" and plan.kind != "qlora" else plan.double_quant,
            )
            e = estimate(est.model, est.profile, p)
            if e.fits:
                words = []
                if kind != plan.kind:
                    words.append(METHOD_OVERRIDE[(plan.recipe, kind)])
                if memory_gb != plan.memory_gb:
                    words.append(f"devices.memory_gb={memory_gb:g}")
                if (per_node, nodes) != (plan.per_node, plan.world_size // plan.per_node):
                    words.append(f"devices.per_node={per_node}" + (f" devices.nodes={nodes}" if nodes > 1 else ""))
                if sharding == "full_shard" and plan.sharding != "full_shard":
                    words.append(FSDP_OVERRIDE)
                return " ".join(words), e
        return None

    declared = [(plan.per_node, plan.world_size // plan.per_node)]
    options = [first_fit(plan.kind, plan.memory_gb, WORLD_SIZES)]
    options += [first_fit(kind, plan.memory_gb, declared) for kind in CHEAPER[plan.kind]]
    if plan.memory_gb < 80:
        options.append(first_fit(plan.kind, 80.0, WORLD_SIZES))
    for option in options:
        if option and option[0] not in [f[0] for f in found]:
            found.append(option)
    return found


def check_fits(cfg: DictConfig) -> Optional[Estimate]:
    """Log the per-device memory estimate of a training config; raise UserError if it cannot fit the declared
    devices, naming configurations that would. Runs on the config alone: no model is loaded or looked up."""
    est = estimate_cfg(cfg)
    if est is None:
        log.warning(
            "memory estimate skipped: no shape known for %s (add it to llmsweep.models.memory.SHAPES or "
            "point model.checkpoint at a local directory)",
            cfg.model.checkpoint,
        )
        return None
    log.info("memory estimate for model=%s method=%s: %s", est.model, cfg.method.name, est.breakdown())
    if est.fits or not devices_of(cfg).check:
        return est
    fixes = _alternatives(cfg, est)
    fix = "; or ".join(f"{words} (~{e.total_gb:.0f} GB per device)" for words, e in fixes)
    fix = fix or "no configuration searched fits (up to 64 GPUs with FSDP, QLoRA, 80 GB devices)"
    raise UserError(
        f"model={est.model} method={cfg.method.name} does not fit devices.memory_gb={est.plan.memory_gb:g}: "
        f"{est.breakdown()}.\n"
        f"Fix: {fix}; or devices.check=false to launch anyway. See docs/memory.md."
    )


# ---------------------------------------------------------------------------------------------- the docs table

SEED_JOBS = [("polyglot_12.8b", "full"), ("solar", "dpo_qlora"), ("mixtral", "qlora"), ("mixtral", "lora")]
GPUS = (1, 2, 4, 8)  # one node; more than one GPU: FSDP full shard


def seed_table() -> str:
    """docs/memory.md's table: the seeds' jobs on 1-8 GPUs, as `check_fits` sees them (scale=full defaults)."""
    from hydra import compose, initialize_config_dir

    from llmsweep.config import register_configs
    from llmsweep.paths import CONF_DIR

    register_configs()
    rows = [
        "| model | method | GPUs | weights | grads + optimizer | activations | other | GB per device "
        "| A100-40GB | A100-80GB |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        for model, method in SEED_JOBS:
            cfg = compose("train", overrides=["scale=full", f"model={model}", f"method={method}"])
            OmegaConf.set_struct(cfg, False)
            for gpus in GPUS:
                cfg.devices = OmegaConf.structured(DevicesConf(per_node=gpus))
                cfg.distributed.name = "fsdp" if gpus > 1 else "none"
                e = estimate_cfg(cfg)
                p = {k: v / GB for k, v in e.parts.items()}
                other = p.get("reference", 0) + p.get("fsdp buffers", 0) + p["runtime"]
                fit = ["yes" if e.total_gb <= memory else "**no**" for memory in (40, 80)]
                rows.append(
                    f"| {model} | {method} | {gpus}{' FSDP' if gpus > 1 else ''} | {p['weights']:.1f} | "
                    f"{p['gradients'] + p['optimizer']:.1f} | {p['activations']:.1f} | {other:.1f} | "
                    f"{e.total_gb:.1f} | {fit[0]} | {fit[1]} |"
                )
    return "\n".join(rows)


if __name__ == "__main__":
    print(seed_table())
