"""Inputs of a merge: run dirs of this project, LoRA adapter dirs or full model dirs.

`resolve` finds what a path holds without reading any tensor; `check_compatible` compares
architectures (model_type, tensor names and shapes from the safetensors headers) and tokenizers,
also without reading tensors; `materialize` then merges LoRA adapters into their base with peft
(cached, so the trials of a sweep share one merged copy per adapter).
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path

from llmsweep.errors import UserError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Input:
    label: str  # where the user named it, e.g. "merge.models[1]"
    given: str  # the path as the user wrote it
    model_dir: Path  # holds config.json: the model itself, or an adapter's base
    adapter_dir: Path | None = None  # a LoRA adapter merged into model_dir before merging

    @property
    def tokenizer_dir(self) -> Path:
        return self.adapter_dir if self.adapter_dir and _has_tokenizer(self.adapter_dir) else self.model_dir

    def __str__(self) -> str:
        return f"{self.label} ({self.given})"


def _has_tokenizer(d: Path) -> bool:
    return (d / "tokenizer.json").exists() or (d / "tokenizer_config.json").exists()


def _local_model(ref: str) -> Path | None:
    """A local dir, or a snapshot in the Hugging Face cache (nothing is downloaded here)."""
    p = Path(ref).expanduser()
    if p.is_dir():
        return p.resolve()
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(ref, local_files_only=True))
    except Exception:  # not a repo id, or not in the cache
        return None


def resolve(path: str, label: str) -> Input:
    found = _local_model(str(path))
    if found is not None and (found / "model").is_dir():  # a run dir of train.py
        found = found / "model"
    if found is not None and (found / "adapter_config.json").exists():
        base_ref = json.loads((found / "adapter_config.json").read_text(encoding="utf-8")).get(
            "base_model_name_or_path"
        )
        base = _local_model(str(base_ref)) if base_ref else None
        if base is None or not (base / "config.json").exists():
            raise UserError(
                f"{label} ({path}): LoRA adapter whose base '{base_ref}' (adapter_config.json base_model_name_or_path) "
                "is not a local model dir nor in the Hugging Face cache. Fix: make the base available (e.g. `hf download`) "
                "or edit base_model_name_or_path to its local path."
            )
        return Input(label, str(path), base, found)
    if found is not None and (found / "config.json").exists():
        return Input(label, str(path), found)
    raise UserError(
        f"{label}: '{path}' is not a run dir (with model/), a LoRA adapter dir (adapter_config.json) nor a model dir "
        "(config.json). Fix: pass outputs/DATE/TIME of a train.py run, or a model directory."
    )


def architecture(model_dir: Path) -> tuple[str, dict[str, tuple]]:
    """model_type and {tensor name: shape}, from config.json and the safetensors headers only."""
    config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    shapes: dict[str, tuple] = {}
    files = sorted(model_dir.glob("*.safetensors"))
    if files:
        from safetensors import safe_open

        for f in files:
            with safe_open(str(f), framework="pt") as st:
                shapes.update({k: tuple(st.get_slice(k).get_shape()) for k in st.keys()})
    else:  # .bin checkpoints: no header to read without loading, compare the config's shape fields
        shape_keys = (
            "vocab_size",
            "hidden_size",
            "intermediate_size",
            "num_hidden_layers",
            "num_attention_heads",
            "num_key_value_heads",
        )
        shapes = {k: (config[k],) for k in shape_keys if k in config}
    return str(config.get("model_type")), shapes


def tokenizer_signature(tok_dir: Path) -> tuple[dict, dict]:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(tok_dir))
    specials = {k: getattr(tok, k) for k in ("bos_token", "eos_token", "pad_token", "unk_token")}
    return tok.get_vocab(), specials


def check_compatible(inputs: list[Input]) -> None:
    """All inputs share model_type, tensor names and shapes, and tokenizer; else a UserError naming both."""
    first = inputs[0]
    ref_type, ref_shapes = architecture(first.model_dir)
    ref_vocab, ref_specials = tokenizer_signature(first.tokenizer_dir)
    for other in inputs[1:]:
        mtype, shapes = architecture(other.model_dir)
        what = None
        if mtype != ref_type:
            what = f"model_type {ref_type} vs {mtype}"
        elif shapes.keys() != ref_shapes.keys():
            only_a = sorted(ref_shapes.keys() - shapes.keys())[:3]
            only_b = sorted(shapes.keys() - ref_shapes.keys())[:3]
            what = f"tensor names: only in the first {only_a}, only in the second {only_b}"
        else:
            bad = next((k for k in ref_shapes if ref_shapes[k] != shapes[k]), None)
            if bad:
                what = f"tensor {bad}: shape {list(ref_shapes[bad])} vs {list(shapes[bad])}"
        if what is None:
            vocab, specials = tokenizer_signature(other.tokenizer_dir)
            if vocab != ref_vocab:
                what = f"tokenizer vocabulary ({len(ref_vocab)} vs {len(vocab)} tokens, {len(ref_vocab.items() ^ vocab.items())} entries differ)"
            elif specials != ref_specials:
                what = f"tokenizer special tokens {ref_specials} vs {specials}"
        if what:
            raise UserError(
                f"{first} and {other} cannot be merged: they differ in {what}. "
                "All inputs of a merge must share an architecture and a tokenizer (e.g. runs of the same model=...)."
            )


def _adapter_key(inp: Input, dtype: str) -> str:
    h = hashlib.sha256(f"{inp.model_dir}|{dtype}".encode())
    for name in ("adapter_config.json", "adapter_model.safetensors", "adapter_model.bin"):
        f = inp.adapter_dir / name
        if f.exists():
            with open(f, "rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    h.update(chunk)
    return h.hexdigest()[:16]


def materialize(inp: Input, cache_dir: Path, dtype: str) -> Path:
    """A full model dir for `inp`: the model itself, or its adapter merged into the base (cached by content)."""
    if inp.adapter_dir is None:
        return inp.model_dir
    from llmsweep.cache import build_once

    def build(d: Path) -> None:
        import torch
        from peft import PeftModel
        from transformers import AutoModelForCausalLM, AutoTokenizer

        log.info("merging the LoRA adapter of %s into its base %s", inp, inp.model_dir)
        base = AutoModelForCausalLM.from_pretrained(str(inp.model_dir), dtype=getattr(torch, dtype))
        merged = PeftModel.from_pretrained(base, str(inp.adapter_dir)).merge_and_unload()
        merged.save_pretrained(d)
        AutoTokenizer.from_pretrained(str(inp.tokenizer_dir)).save_pretrained(d)

    return build_once(build, cache_dir / "merged_adapters" / _adapter_key(inp, dtype))
