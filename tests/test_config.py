"""Config composition and the fast, import-light CLI paths."""

from __future__ import annotations

import subprocess
import sys

import pytest

from helpers import REPO, cli_env, composed, run_cli

MODELS = {
    "solar": ("upstage/SOLAR-10.7B-v1.0", "llama"),
    "mistral": ("mistralai/Mistral-7B-v0.1", "mistral"),
    "mixtral": ("mistralai/Mixtral-8x7B-v0.1", "mixtral"),
    "llama2_13b": ("meta-llama/Llama-2-13b-hf", "llama"),
    "polyglot_1.3b": ("EleutherAI/polyglot-ko-1.3b", "gpt_neox"),
    "polyglot_5.8b": ("EleutherAI/polyglot-ko-5.8b", "gpt_neox"),
    "polyglot_12.8b": ("EleutherAI/polyglot-ko-12.8b", "gpt_neox"),
    "koalpaca_polyglot_12.8b": ("beomi/KoAlpaca-Polyglot-12.8B", "gpt_neox"),
}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_each_model_names_its_checkpoint_and_a_tiny_shape_of_its_architecture(name):
    from transformers import AutoConfig

    cfg = composed(f"model={name}")
    checkpoint, model_type = MODELS[name]
    assert cfg.model.checkpoint == checkpoint
    assert cfg.model.model_type == model_type
    tiny = AutoConfig.for_model(model_type, vocab_size=2048, **cfg.model.tiny)
    assert tiny.model_type == model_type
    assert tiny.hidden_size <= 128 and tiny.num_hidden_layers <= 4
    if name == "mixtral":
        assert tiny.num_local_experts > 1 and tiny.num_experts_per_tok > 1


def test_method_choices_set_what_sweeps_search():
    lora = composed("method=lora").method
    assert lora.recipe == "sft" and lora.lora.r == 8 and lora.quantization is None
    qlora = composed("method=qlora").method
    assert qlora.quantization.load_in_4bit and qlora.quantization.bnb_4bit_quant_type == "nf4"
    assert qlora.quantization.bnb_4bit_use_double_quant
    full = composed("method=full").method
    assert full.lora is None and full.recipe == "sft"
    dpo = composed("method=dpo")
    assert dpo.method.recipe == "dpo" and dpo.method.args.beta == 0.1 and dpo.method.lora is not None
    assert dpo.data.format == "prefs", "method=dpo selects preference data by default"
    assert composed("method=dpo", "data=dolly_ko").data.name == "dolly_ko", "an explicit data= wins"
    dq = composed("method=dpo_qlora").method
    assert dq.recipe == "dpo" and dq.quantization.load_in_4bit


def test_learning_rate_follows_scale():
    assert composed("method=lora").method.args.learning_rate == 3e-3
    assert composed("method=lora", "scale=full").method.args.learning_rate == 2e-4


def test_cfg_job_prints_config_without_importing_torch():
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "train.py", "--cfg", "job"],
        cwd=REPO,
        env=cli_env(REPO),
        capture_output=True,
        text=True,
        check=True,
    )
    assert "model:" in proc.stdout and "checkpoint: mistralai/Mistral-7B-v0.1" in proc.stdout
    imported = {
        line.split("|")[-1].strip().split(".")[0]
        for line in proc.stderr.splitlines()
        if line.startswith("import time:")
    }
    assert "hydra" in imported
    heavy = imported & {"torch", "transformers", "trl", "peft", "bitsandbytes", "datasets", "wandb", "accelerate"}
    assert not heavy, f"--cfg job imported {heavy}"


def _help_groups(app: str) -> dict[str, list[str]]:
    proc = subprocess.run([sys.executable, app, "--help"], cwd=REPO, capture_output=True, text=True, check=True)
    listing = proc.stdout.split("Config groups (choose with GROUP=OPTION):\n", 1)[1].split("Composed config", 1)[0]
    return {g: o.split(", ") for g, o in (line.split(": ", 1) for line in listing.strip().splitlines())}


def test_help_explains_the_config_groups():
    proc = subprocess.run([sys.executable, "train.py", "--help"], cwd=REPO, capture_output=True, text=True, check=True)
    for text in (
        "model:",
        "method:",
        "data:",
        "scale:",
        "mixtral",
        "dpo_qlora",
        "python train.py -m model=solar,mixtral method=dpo",
    ):
        assert text in proc.stdout


@pytest.mark.parametrize(
    "app, groups",
    [
        ("train.py", {"data", "distributed", "judge", "method", "model", "scale", "sweeps", "tracking"}),
        ("merge.py", {"data", "judge", "merge", "scale", "sweeps", "tracking"}),
        ("serve.py", {"engine"}),
    ],
)
def test_help_lists_only_the_apps_own_groups(app, groups):
    # conf/ is shared by the three apps, and sweeps/ comes from the checkout root (not anything else under it, like .venv)
    listed = _help_groups(app)
    assert set(listed) == groups
    if "sweeps" in listed:
        assert {"dpo_beta", "lora_rank", "joint"} <= set(listed["sweeps"])


def test_only_the_sweeps_folder_of_the_checkout_is_on_the_search_path():
    # conf/train.yaml is in the checkout but `conf` is no config group: `+conf=train` stays a plain value
    proc = subprocess.run(
        [sys.executable, "train.py", "+conf=train", "--cfg", "job"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "conf: train" in proc.stdout


def test_unknown_model_lists_the_valid_ones(cache_dir):
    proc = run_cli(cache_dir, "model=nosuch", check=False)
    assert proc.returncode != 0
    assert "Could not find 'model/nosuch'" in proc.stderr
    for name in MODELS:
        assert name in proc.stderr


def test_typo_in_a_key_fails_before_any_work(cache_dir):
    proc = run_cli(cache_dir, "method.lora.rr=4", check=False)
    assert proc.returncode != 0
    assert "rr" in proc.stderr


def test_unknown_scale_lists_the_valid_ones(cache_dir):
    proc = run_cli(cache_dir, "scale=huge", check=False)
    assert proc.returncode != 0 and "tiny" in proc.stderr and "full" in proc.stderr


def _compose(app: str, *overrides: str):
    from hydra import compose, initialize_config_dir

    from llmsweep.config import register_configs

    register_configs()  # one registration: every app's schema and the resolvers
    with initialize_config_dir(config_dir=str(REPO / "conf"), version_base="1.3"):
        return compose(app, overrides=list(overrides))


def test_one_registration_serves_every_app_and_each_apps_own_sections_come_first():
    train, merge, serve = _compose("train"), _compose("merge"), _compose("serve", "run_dir=x")
    assert list(train)[:3] == ["model", "method", "data"] and list(merge)[:2] == ["merge", "data"]
    assert serve.run_dir == "x" and serve.model_name == "auto"
    shared = ["data", "tracking", "scale", "seed", "objective", "cache_dir", "trainer", "generate", "trial", "judge"]
    assert all(k in train and k in merge for k in shared)


def test_merge_cfg_job_takes_any_mergekit_method_without_importing_mergekit():
    proc = subprocess.run(
        [
            sys.executable,
            "-X",
            "importtime",
            "merge.py",
            "merge.method=della",
            "merge.model_parameters=[{epsilon: 0.1}]",
            "--cfg",
            "job",
        ],
        cwd=REPO,
        env=cli_env(REPO),
        capture_output=True,
        text=True,
        check=True,
    )
    assert "method: della" in proc.stdout and "epsilon: 0.1" in proc.stdout
    times = [x for x in proc.stderr.splitlines() if x.startswith("import time:")]
    imported = {x.split("|")[-1].strip().split(".")[0] for x in times}
    heavy = imported & {"mergekit", "torch", "transformers", "peft", "wandb"}
    assert not heavy, f"--cfg job imported {heavy}"


def test_unknown_merge_method_lists_mergekits_registered_ones(cache_dir, tmp_path):
    import mergekit.merge_methods as mm

    argv = [
        sys.executable,
        "merge.py",
        "merge.method=lineer",
        "merge.models=[a,b]",
        "tracking=none",
        f"hydra.run.dir={tmp_path}",
    ]
    proc = subprocess.run(argv, cwd=REPO, env=cli_env(cache_dir), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    (line,) = [x for x in proc.stderr.splitlines() if "merge.method=lineer" in x]
    valid = line.split("Valid: ", 1)[1].split(". Fix", 1)[0].split(", ")
    assert set(valid) == {m.spec.name for m in mm.registered_methods()} | {"moe"}
