"""The memory estimate before launch (llmsweep.models.memory): numbers against hand computations, the refusal
of a config that cannot fit and its suggestions, and the parameter classification against bitsandbytes itself.

Hand computations (h hidden, I intermediate, L layers, V vocabulary, kv = KV heads x head dim):
- Polyglot-Ko 12.8B (GPT-NeoX, h=5120, I=20480, L=40, V=30080, biases, untied head): a layer has
  qkv 3h^2 + 3h, out h^2 + h, MLP 2hI + I + h, two LayerNorms 4h = 12h^2 + 13h (I = 4h) = 314,639,360;
  P = 40 x 314,639,360 + 2Vh (embedding + head) + 2h (final norm) = 12,893,603,840.
  Full fine-tune, 16 B/param (bf16 weights 2 + grads 2 + fp32 master and two moments 12): 206.3 GB > 80 GB.
  Activations, batch 4 x 512 tokens = 2048, checkpointed: 40 layers x 2h bytes x 2048 (layer inputs)
  + one layer recomputed 2 x 2048 x (8h + 2I) + logits 10 x 2048 x V = 838,860,800 + 335,544,320 + 616,038,400.
  On 4 GPUs with FSDP the 206.3 GB of states divide by 4: 51.6 GB.
- SOLAR-10.7B (Llama, h=4096, I=14336, L=48, V=32000, kv=1024, no biases): a layer has attention
  2h^2 + 2h kv, MLP 3hI, norms 2h = 218,112,000; P = 48 x 218,112,000 + 2Vh + h = 10,731,524,096.
  Its nn.Linear weights (all but embeddings, head, norms): 48 x (2h^2 + 2h kv + 3hI) = 10,468,982,784.
  QLoRA NF4 with double quantization: 0.5 + 1/64 + 4/(64 x 256) B per quantized weight, 2 B for the rest:
  about 5.4 + 0.5 = 5.9 GB; fits one A100-80GB.
- Mixtral-8x7B (h=4096, I=14336, L=32, 8 experts, kv=1024): a layer has attention 2h^2 + 2h kv, experts
  8 x 3hI, router 8h, norms 2h = 1,451,270,144; P = 32 x that + 2Vh + h = 46,702,792,704. In transformers 5 the
  experts are fused 3-D parameters that bitsandbytes does not quantize: only attention (32 x 41,943,040 =
  1,342,177,280) is 4-bit, so QLoRA keeps ~90.7 GB of bf16 weights and does not fit one A100-80GB.
"""

from __future__ import annotations

import re

import pytest
from omegaconf import OmegaConf, open_dict

from helpers import composed
from llmsweep.errors import UserError
from llmsweep.models.memory import GB, DevicesConf, check_fits, estimate_cfg

POLYGLOT_12B = 12_893_603_840
SOLAR = 10_731_524_096
SOLAR_LINEAR = 10_468_982_784
MIXTRAL = 46_702_792_704
MIXTRAL_ATTENTION = 1_342_177_280


def with_devices(cfg, distributed: str = "none", **devices):
    with open_dict(cfg):
        cfg.devices = OmegaConf.structured(DevicesConf(**devices))
        cfg.distributed.name = distributed
    return cfg


def test_polyglot_full_is_refused_with_the_estimate_and_a_configuration_that_fits():
    cfg = composed("scale=full", "model=polyglot_12.8b", "method=full")
    est = estimate_cfg(cfg)
    assert est.profile.params == POLYGLOT_12B
    states = est.parts["weights"] + est.parts["gradients"] + est.parts["optimizer"]
    assert states == 16 * POLYGLOT_12B  # 206.3 GB
    assert est.parts["activations"] == 838_860_800 + 335_544_320 + 616_038_400
    assert est.total_gb == pytest.approx(206.3 + 1.8 + 1.0, abs=0.1)

    with pytest.raises(UserError) as err:
        check_fits(cfg)  # the default declaration: one A100-80GB
    msg = str(err.value)
    assert "model=polyglot_12.8b method=full does not fit devices.memory_gb=80" in msg
    assert f"= {est.total_gb:.1f} GB per device on 1 x 80 GB" in msg
    fixes = re.findall(r"(?:Fix: |; or )([^;(]+?) \(~(\d+) GB per device\)", msg)
    assert fixes, msg
    assert any("distributed=fsdp" in words and "devices.per_node=" in words for words, _ in fixes), msg
    assert any(words == "method=qlora" for words, _ in fixes), msg
    for words, gb in fixes:  # every suggestion, applied to the config, passes and matches the number it quoted
        overrides = dict(w.split("=", 1) for w in words.split())
        fixed = composed("scale=full", "model=polyglot_12.8b", f"method={overrides.pop('method', 'full')}")
        devices = {
            k.split(".")[1]: float(v) if k.endswith("memory_gb") else int(v)
            for k, v in overrides.items()
            if k.startswith("devices.")
        }
        fixed_est = check_fits(with_devices(fixed, overrides.get("distributed", "none"), **devices))
        assert fixed_est.fits and round(fixed_est.total_gb) == int(gb)


def test_fsdp_divides_weights_grads_and_optimizer_states_ddp_does_not():
    fsdp = estimate_cfg(with_devices(composed("scale=full", "model=polyglot_12.8b", "method=full"), "fsdp", per_node=4))
    ddp = estimate_cfg(with_devices(composed("scale=full", "model=polyglot_12.8b", "method=full"), "ddp", per_node=4))
    assert fsdp.plan.sharding == "full_shard" and ddp.plan.sharding == "replicate"
    assert fsdp.parts["weights"] + fsdp.parts["gradients"] + fsdp.parts["optimizer"] == 16 * POLYGLOT_12B / 4
    assert ddp.parts["weights"] + ddp.parts["gradients"] + ddp.parts["optimizer"] == 16 * POLYGLOT_12B
    assert fsdp.fits and not ddp.fits


def test_solar_dpo_qlora_fits_one_a100_80gb_without_a_reference_copy():
    est = check_fits(composed("scale=full", "model=solar", "method=dpo_qlora"))
    assert est.fits
    assert (est.profile.params, est.profile.quantizable) == (SOLAR, SOLAR_LINEAR)
    base = SOLAR_LINEAR * (0.5 + 1 / 64 + 4 / (64 * 256)) + (SOLAR - SOLAR_LINEAR) * 2
    assert est.parts["weights"] == pytest.approx(base + 4 * est.plan.lora_params)
    assert est.parts.get("reference", 0) == 0  # the adapter-disabled base is the reference
    assert 0 < est.plan.lora_params < 0.01 * SOLAR
    full_dpo = estimate_cfg(composed("scale=full", "model=solar", "method=dpo", "method.lora=null"))
    assert full_dpo.parts["reference"] == 2 * SOLAR  # full DPO: a frozen bf16 copy


def test_mixtral_qlora_keeps_fused_experts_in_bf16_and_needs_two_gpus():
    cfg = composed("scale=full", "model=mixtral", "method=qlora")
    est = estimate_cfg(cfg)
    assert (est.profile.params, est.profile.quantizable) == (MIXTRAL, MIXTRAL_ATTENTION)
    assert est.parts["weights"] / GB > 90
    with pytest.raises(UserError, match=r"devices\.per_node=2 distributed=fsdp"):
        check_fits(cfg)
    assert check_fits(with_devices(cfg, "fsdp", per_node=2)).fits


@pytest.mark.parametrize("model", ["mixtral", "polyglot_1.3b"])
def test_quantized_bytes_match_bitsandbytes_on_a_tiny_model(model, tmp_path):
    """The weights the estimate counts as 4-bit are the ones bitsandbytes quantizes: a tiny model of the same
    architecture, loaded 4-bit (packed uint8, 0.5 B per weight; the rest float32 at scale=tiny), has the
    footprint the profile predicts. For Mixtral this is the transformers 5 fact that experts stay unquantized."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, BitsAndBytesConfig

    cfg = composed("scale=tiny", f"model={model}", "method=qlora")
    est = estimate_cfg(cfg)
    shape = {**OmegaConf.to_container(cfg.model.tiny), "vocab_size": cfg.tiny_base.vocab_size}
    AutoModelForCausalLM.from_config(AutoConfig.for_model(cfg.model.model_type, **shape)).save_pretrained(tmp_path)
    quantized = AutoModelForCausalLM.from_pretrained(
        tmp_path,
        dtype=torch.float32,
        quantization_config=BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_compute_dtype=torch.float32),
    )
    p = est.profile
    assert quantized.get_memory_footprint(return_buffers=False) == p.quantizable / 2 + (p.params - p.quantizable) * 4
    assert 0 < p.quantizable < p.params
