"""Model + tokenizer for a run: the real checkpoint (scale=full) or a tiny model of the same
architecture built from its config class and saved with save_pretrained (scale=tiny).

Both scales then load through the same `from_pretrained` call, so quantization and dtype handling
are exercised on the CPU exactly as they run on a GPU cluster.
"""

from __future__ import annotations

import logging
import socket
from pathlib import Path
from urllib.parse import urlparse

from filelock import FileLock
from omegaconf import DictConfig, OmegaConf

from llmsweep.cache import build_once
from llmsweep.errors import UserError
from llmsweep.models.attention import PER_DOCUMENT, implementation
from llmsweep.models.pretrain import pretrain
from llmsweep.models.tokenizer import (
    corpus_key,
    corpus_texts,
    ensure_chat_ready,
    lengths_from_config,
    train_tokenizer,
    with_system_prompt,
)
from llmsweep.paths import cache_root

log = logging.getLogger(__name__)

BASE_INIT_SEED = 0  # tiny bases are shared "pretrained" checkpoints: same weights for every run


def tiny_checkpoint(cfg: DictConfig) -> Path:
    """Directory holding the tiny model + tokenizer for cfg.model, built on first use (on the run's `threads`)."""
    set_threads(cfg.get("threads"))
    base = cfg.tiny_base
    corpus = [str(p) for p in base.corpus]
    tok_dir = build_once(
        lambda d: train_tokenizer(corpus, base.vocab_size).save_pretrained(d),
        cache_root(cfg) / "tokenizers" / corpus_key(corpus, base.vocab_size),
    )
    shape = OmegaConf.to_container(cfg.model.tiny, resolve=True)
    key = corpus_key(
        corpus, base.vocab_size, base.pretrain_steps, BASE_INIT_SEED, cfg.model.model_type, sorted(shape.items())
    )

    def build(d: Path) -> None:
        import torch
        from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

        tok = AutoTokenizer.from_pretrained(tok_dir)
        config = AutoConfig.for_model(
            cfg.model.model_type,
            vocab_size=len(tok),
            bos_token_id=tok.bos_token_id,
            eos_token_id=tok.eos_token_id,
            pad_token_id=tok.pad_token_id,
            **shape,
        )
        torch.manual_seed(BASE_INIT_SEED)
        model = AutoModelForCausalLM.from_config(config)
        if base.pretrain_steps > 0:
            log.info(
                "pretraining the tiny %s base for %d steps (once; cached in %s)",
                cfg.model.model_type,
                base.pretrain_steps,
                d.parent,
            )
            pretrain(model, tok, list(corpus_texts(corpus)), base.pretrain_steps, BASE_INIT_SEED)
        model.save_pretrained(d)
        tok.save_pretrained(d)

    target = cache_root(cfg) / "tiny" / f"{cfg.model.model_type}-{key}"
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    # concurrent first runs (a sweep's parallel trials) wait for one build instead of each pretraining the base
    with FileLock(target.parent / f".{target.name}.lock"):
        return build_once(build, target)


def _hub_reachable(timeout: float = 3.0) -> bool:
    from huggingface_hub import constants

    url = urlparse(constants.ENDPOINT)
    try:
        socket.create_connection((url.hostname, url.port or 443), timeout=timeout).close()
        return True
    except OSError:
        return False


def full_checkpoint(model_cfg: DictConfig, cache: Path | None = None) -> str:
    """Local dir, HF-cache snapshot, converted embedded copy (llmsweep.models.embedded, in `cache`) or hub id of
    the real checkpoint; a clear error at once if none."""
    ckpt = str(model_cfg.checkpoint)
    if Path(ckpt).expanduser().is_dir():
        return str(Path(ckpt).expanduser())
    from huggingface_hub import constants, snapshot_download

    try:
        return snapshot_download(ckpt, revision=model_cfg.revision, local_files_only=True)
    except Exception:  # not in the cache (or not a valid repo id): decide below
        pass
    if cache is not None and model_cfg.revision is None:
        from llmsweep.models.embedded import embedded_checkpoint

        local = embedded_checkpoint(ckpt, cache)  # preferred to a hub download: pinned, and no hub account needed
        if local is not None:
            return str(local)
    if not constants.HF_HUB_OFFLINE and _hub_reachable():
        return ckpt  # from_pretrained downloads it (HF_TOKEN from the environment for gated models)
    why = "HF_HUB_OFFLINE is set" if constants.HF_HUB_OFFLINE else f"{constants.ENDPOINT} cannot be reached"
    raise UserError(
        f"model={model_cfg.name} scale=full needs the checkpoint '{ckpt}', which is not a local directory, "
        f"not in the Hugging Face cache ({constants.HF_HUB_CACHE}), and {why}.\n"
        f"Fix: on a machine with network run `hf download {ckpt}` and point HF_HOME at that cache, "
        f"or pass model.checkpoint=/path/to/{ckpt.split('/')[-1]}, or use scale=tiny."
    )


def set_threads(threads) -> None:
    """torch's CPU threads for this process from the config's `threads` (null: torch's default, one per core).
    On shared cores fewer threads are faster: torch's threads wait on each other whenever one is descheduled
    (bench/threads.py)."""
    if threads:
        import os

        import torch

        torch.set_num_threads(int(threads))
        # accelerate resets a CPU process group's ranks to cores/ranks-per-node threads unless this is set (on a
        # SLURM trial of one task per node: every core, per rank)
        os.environ["OMP_NUM_THREADS"] = str(int(threads))


def load_model_and_tokenizer(cfg: DictConfig):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, BitsAndBytesConfig

    set_threads(cfg.get("threads"))
    path = full_checkpoint(cfg.model, cache_root(cfg)) if str(cfg.scale) == "full" else str(tiny_checkpoint(cfg))
    tokenizer = AutoTokenizer.from_pretrained(path, revision=cfg.model.revision)
    ensure_chat_ready(tokenizer)
    if cfg.model.system_prompt is not None:
        tokenizer.chat_template = with_system_prompt(tokenizer.chat_template, cfg.model.system_prompt)
    kwargs = {}
    if cfg.method.quantization:
        q = OmegaConf.to_container(cfg.method.quantization, resolve=True)
        try:
            kwargs["quantization_config"] = BitsAndBytesConfig(**q)
        except TypeError as e:
            raise UserError(
                f"method={cfg.method.name}: method.quantization: {e} (fields of transformers.BitsAndBytesConfig)"
            ) from e
    attention = cfg.model.get("attn_implementation")
    if attention is None and cfg.method.args.get("packing"):
        attention = PER_DOCUMENT  # packed rows need per-document attention; a dense block-diagonal mask is slower
    if attention:
        kwargs["attn_implementation"] = implementation(attention)
    dtype = cfg.model.dtype if str(cfg.scale) == "full" else "float32"
    model = AutoModelForCausalLM.from_pretrained(
        path,
        revision=cfg.model.revision,
        dtype=dtype if dtype == "auto" else getattr(torch, dtype),
        **kwargs,
    )
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    lengths_from_config(tokenizer, model.config)
    return model, tokenizer, path
