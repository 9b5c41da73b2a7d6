"""Every method trains a tiny model of a real architecture through the real CLI."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from helpers import SECRETS, cli_env, composed, read_jsonl, read_metrics, run_cli

# method -> model: every method and every architecture family is exercised once
CASES = {
    "full": ("polyglot_1.3b", "GPTNeoXForCausalLM"),
    "lora": ("mistral", "MistralForCausalLM"),
    "qlora": ("llama2_13b", "LlamaForCausalLM"),
    "dpo": ("solar", "LlamaForCausalLM"),
    "dpo_qlora": ("mixtral", "MixtralForCausalLM"),
}


@pytest.fixture(scope="module")
def runs(cache_dir, tmp_path_factory) -> dict[str, Path]:
    """One run per method, with secrets in the environment (checked to never reach the outputs)."""
    out = {}
    for method, (model, _) in CASES.items():
        run_dir = tmp_path_factory.mktemp(method) / "run"
        run_cli(cache_dir, f"model={model}", f"method={method}", out=run_dir, env=cli_env(cache_dir, **SECRETS))
        out[method] = run_dir
    return out


def base_architecture(run_dir: Path) -> str:
    model_dir = run_dir / "model"
    if (model_dir / "adapter_config.json").exists():
        base = json.loads((model_dir / "adapter_config.json").read_text())["base_model_name_or_path"]
        model_dir = Path(base)
    return json.loads((model_dir / "config.json").read_text())["architectures"][0]


@pytest.mark.parametrize("method", CASES)
def test_run_dir_holds_model_metrics_answers_and_tracking(runs, method):
    run_dir = runs[method]
    model_dir = run_dir / "model"
    if method == "full":
        assert (model_dir / "model.safetensors").exists()
    else:
        assert (model_dir / "adapter_model.safetensors").exists()
    assert (model_dir / "chat_template.jinja").exists()
    assert base_architecture(run_dir) == CASES[method][1]

    metrics = read_metrics(run_dir)
    assert metrics["objective"] == metrics["eval_loss"]
    assert metrics["global_step"] == 40
    answers = read_jsonl(run_dir / "answers.jsonl")
    assert len(answers) == 8
    assert all(a["prompt"] and a["reference"] for a in answers)
    assert list(run_dir.glob("wandb/offline-run-*/run-*.wandb"))


@pytest.mark.parametrize("method", CASES)
def test_training_lowers_eval_loss(runs, method):
    m = read_metrics(runs[method])
    assert m["eval_loss"] < m["initial_eval_loss"]
    assert math.isfinite(m["train_loss"])


@pytest.mark.parametrize("method", ["dpo", "dpo_qlora"])
def test_dpo_starts_at_ln2_and_learns_the_preference(runs, method):
    """With the adapter at zero the policy equals the reference: loss = -log sigmoid(0) = ln 2.
    MoE models (Mixtral) add trl's router load-balancing term, coefficient from the model's config."""
    m = read_metrics(runs[method])
    first = next(e for e in m["history"] if "eval_loss" in e)
    assert first["step"] == 0 and first["eval_loss"] == m["initial_eval_loss"]
    dpo_loss = first["eval_loss"]
    if "eval_aux_loss" in first:
        adapter = json.loads((runs[method] / "model" / "adapter_config.json").read_text())
        coef = json.loads((Path(adapter["base_model_name_or_path"]) / "config.json").read_text())[
            "router_aux_loss_coef"
        ]
        dpo_loss -= coef * first["eval_aux_loss"]
    assert dpo_loss == pytest.approx(math.log(2), abs=1e-4)
    assert m["eval_loss"] < math.log(2) - 0.05
    assert m["eval_rewards/margins"] > 0
    assert m["eval_rewards/accuracies"] > 0.5


@pytest.mark.parametrize("method", CASES)
def test_secrets_from_the_environment_never_reach_the_outputs(runs, method):
    for path in runs[method].rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            for name, value in SECRETS.items():
                assert value.encode() not in data, f"{name} leaked into {path}"


def test_qlora_really_quantizes_to_4bit(cache_dir, monkeypatch):
    import bitsandbytes as bnb

    from llmsweep.models.build import load_model_and_tokenizer

    monkeypatch.setenv("LLMSWEEP_CACHE_DIR", str(cache_dir))
    cfg = composed("model=llama2_13b", "method=qlora")
    model, _, _ = load_model_and_tokenizer(cfg)
    layers = [m for m in model.modules() if isinstance(m, bnb.nn.Linear4bit)]
    assert len(layers) >= 7 * 2  # q,k,v,o,gate,up,down in each of 2 layers
    w = layers[0].weight
    assert w.quant_state.quant_type == "nf4" and w.dtype == __import__("torch").uint8
    assert w.quant_state.nested, "double quantization"


def test_same_config_and_seed_give_the_same_metrics(runs, cache_dir, tmp_path):
    model, _ = CASES["lora"]
    again = tmp_path / "again"
    run_cli(cache_dir, f"model={model}", "method=lora", out=again)

    def curve(run_dir):
        return [(e["step"], e.get("loss"), e.get("eval_loss")) for e in read_metrics(run_dir)["history"]]

    assert curve(again) == curve(runs["lora"])
    assert read_jsonl(again / "answers.jsonl") == read_jsonl(runs["lora"] / "answers.jsonl")
