"""Attention kernels a model can be loaded with (`model.attn_implementation`).

transformers' own names (`sdpa`, `eager`, `flash_attention_2`, ...) pass through. `sdpa_per_document` is ours, for
packed training (`method.args.packing=true`) where no variable-length kernel exists (a CPU: torch's varlen attention
is CUDA-only and FlexAttention has no CPU backward in torch 2.13). trl flattens a step's packed rows into one row
and hands over the document bounds (`cu_seq_lens_q`); plain SDPA then attends over the whole row under a dense
block-diagonal mask, a cost that grows with the square of the row. This runs causal SDPA on each document alone,
as flash-attention's varlen kernel does on a GPU (bench/packing.py). Without document bounds it is plain SDPA.
"""

from __future__ import annotations

PER_DOCUMENT = "sdpa_per_document"


def _sdpa_per_document(module, query, key, value, attention_mask, cu_seq_lens_q=None, **kwargs):
    import torch
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    if cu_seq_lens_q is None or query.shape[0] != 1:
        return sdpa_attention_forward(module, query, key, value, attention_mask, **kwargs)
    bounds = cu_seq_lens_q.tolist()
    outs = [
        sdpa_attention_forward(module, query[:, :, s:e], key[:, :, s:e], value[:, :, s:e], None, **kwargs)[0]
        for s, e in zip(bounds[:-1], bounds[1:])
    ]
    return torch.cat(outs, dim=1), None


def implementation(name: str | None) -> str | None:
    """The `attn_implementation` to load a model with; ours is registered with transformers first."""
    if name == PER_DOCUMENT:
        from transformers import AttentionInterface
        from transformers.masking_utils import ALL_MASK_ATTENTION_FUNCTIONS, sdpa_mask

        AttentionInterface.register(PER_DOCUMENT, _sdpa_per_document)
        ALL_MASK_ATTENTION_FUNCTIONS.register(PER_DOCUMENT, sdpa_mask)  # padded batches keep SDPA's mask
    return name
