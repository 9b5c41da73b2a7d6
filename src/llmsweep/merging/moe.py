"""MoE from experts with mergekit's MoE builder (`mergekit.scripts.moe.build`): each expert's MLPs
become one expert of a Mixtral-class model; the router is initialised from the experts' positive prompts
(gate_mode hidden | cheap_embed) or at random.

mergekit's builder logs a problem and calls sys.exit; the same conditions are checked here first, so a
bad config is a UserError naming the field before any model is loaded."""

from __future__ import annotations

from omegaconf import DictConfig

from llmsweep.errors import UserError


def validate(m: DictConfig) -> None:
    n = len(m.experts)
    if n < 2:
        raise UserError(
            "merge=moe needs at least two merge.experts: [{path: outputs/a, prompts: [...]}, {path: outputs/b, prompts: [...]}]"
        )
    if not 1 <= m.experts_per_token <= n:
        raise UserError(
            f"merge.experts_per_token={m.experts_per_token}: must be between 1 and the number of experts ({n})"
        )
    if str(m.gate_mode) != "random":
        for i, e in enumerate(m.experts):
            if not e.prompts:
                raise UserError(
                    f"merge.experts[{i}] ({e.path}) has no prompts: gate_mode={m.gate_mode} routes by each expert's "
                    "positive prompts. Fix: give merge.experts[{i}].prompts, or merge.gate_mode=random."
                )
        firsts = {(tuple(e.prompts), tuple(e.negative_prompts)) for e in m.experts}
        if len(firsts) == 1:
            raise UserError(
                "merge.experts all have the same prompts: the router could not tell them apart. Give each expert prompts of its own domain."
            )


def moe_config(m: DictConfig, experts: list[str], base: str, dtype: str, model_type: str):
    """mergekit.moe.config.MoEMergeConfig over full-model dirs, checked against mergekit's Mixtral writer."""
    from mergekit.moe.config import Expert, MoEMergeConfig
    from mergekit.moe.mixtral import MixtralMoE

    config = MoEMergeConfig(
        base_model=base,
        experts=[
            Expert(
                source_model=path,
                positive_prompts=list(e.prompts) or None,
                negative_prompts=list(e.negative_prompts) or None,
            )
            for path, e in zip(experts, m.experts)
        ],
        gate_mode=str(m.gate_mode),
        dtype=dtype,
        experts_per_token=int(m.experts_per_token),
    )
    if len({e.source_model for e in config.experts}) == 1:
        raise UserError(
            "merge.experts all name the same model: the MoE would only cost more. Give experts tuned on different data."
        )
    if not MixtralMoE().supports_config(config):
        raise UserError(
            "merge=moe builds a Mixtral-class model from Llama or Mistral experts; the experts' model_type is "
            f"{model_type}. Fix: use experts of model=solar, llama2_13b or mistral."
        )
    return config


def build(config, out_dir: str, seed: int, device: str) -> None:
    from mergekit.options import MergeOptions
    from mergekit.scripts.moe import build as mergekit_build

    try:
        mergekit_build(config, out_dir, MergeOptions(random_seed=seed, quiet=True, device=device), device=device)
    except SystemExit as e:  # validated above; kept so a mergekit check we do not mirror still says where to look
        raise UserError(
            f"merge=moe: mergekit's MoE builder refused the config (exit {e.code}); see its log above"
        ) from None
