"""Small pure pieces: record formatting, the chat template, the secrets guard."""

from __future__ import annotations

import time

import pytest

from llmsweep.data.records import dpo_example, sft_example, user_turn
from llmsweep.tracking.secrets import redact


def test_human_turn_is_the_instruction_and_gpt_turn_the_response():
    rec = {
        "instruction": "수도는?",
        "context": "프랑스의 수도는 파리이다.",
        "response": "파리",
        "category": "closed_qa",
    }
    ex = sft_example(rec)
    assert ex["prompt"] == [{"role": "user", "content": "프랑스의 수도는 파리이다.\n\n수도는?"}]
    assert ex["completion"] == [{"role": "assistant", "content": "파리"}]
    assert user_turn({**rec, "context": ""}) == "수도는?"
    pair = dpo_example({"prompt": "p", "chosen": "좋음", "rejected": "나쁨"})
    assert pair["chosen"][0]["role"] == "assistant" and pair["prompt"][0]["role"] == "user"


def test_chat_template_prompt_is_a_prefix_of_prompt_plus_answer():
    import jinja2

    from llmsweep.models.tokenizer import CHAT_TEMPLATE, SPECIAL_TOKENS

    t = jinja2.Environment().from_string(CHAT_TEMPLATE)
    kw = {"bos_token": SPECIAL_TOKENS["bos_token"], "eos_token": SPECIAL_TOKENS["eos_token"]}
    user = [{"role": "user", "content": "안녕?"}]
    prompt = t.render(messages=user, add_generation_prompt=True, **kw)
    full = t.render(messages=user + [{"role": "assistant", "content": "안녕하세요."}], **kw)
    assert full.startswith(prompt)
    assert full.endswith("안녕하세요.</s>")


def test_redact_replaces_environment_secrets_everywhere(monkeypatch):
    monkeypatch.setenv("MY_JUDGE_API_KEY", "sk-abcdef123456")
    out = redact({"a": "key=sk-abcdef123456", "b": ["sk-abcdef123456", 3], "c": {"d": "fine"}})
    assert out == {"a": "key=***", "b": ["***", 3], "c": {"d": "fine"}}


@pytest.mark.parametrize(
    "mode_env,api_key,expected", [(None, None, "offline"), (None, "k", "online"), ("disabled", "k", "disabled")]
)
def test_wandb_mode_is_offline_unless_the_environment_says_otherwise(monkeypatch, mode_env, api_key, expected):
    from omegaconf import OmegaConf

    from llmsweep.tracking.wandb_run import resolve_mode

    for name, value in (("WANDB_MODE", mode_env), ("WANDB_API_KEY", api_key)):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    assert resolve_mode(OmegaConf.create({"mode": None})) == expected


def test_per_document_attention_equals_each_document_alone():
    """model.attn_implementation=sdpa_per_document: a row of packed documents (trl's padding-free collator, with
    its document bounds) gives every token the logits it has when its document is run alone, and it really runs
    per document (the whole-row SDPA is not called with the bounds)."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM
    from trl.trainer.sft_trainer import DataCollatorForLanguageModeling

    from llmsweep.models import attention

    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2,
    )  # fmt: skip
    model = LlamaForCausalLM(config).eval()
    model.set_attn_implementation(attention.implementation(attention.PER_DOCUMENT))
    docs = [[1, 5, 7, 9, 3], [2, 8, 4], [6, 6, 1, 2, 9, 9]]
    batch = DataCollatorForLanguageModeling(pad_token_id=0, padding_free=True)([{"input_ids": d} for d in docs])
    assert batch["cu_seq_lens_q"].tolist() == [0, 5, 8, 14]
    calls = []
    spy = attention._sdpa_per_document

    def counting(module, query, *args, **kwargs):
        calls.append((query.shape[2], kwargs.get("cu_seq_lens_q") is not None))
        return spy(module, query, *args, **kwargs)

    from transformers import AttentionInterface

    AttentionInterface.register(attention.PER_DOCUMENT, counting)
    try:
        with torch.no_grad():
            packed = model(**{k: v for k, v in batch.items() if k != "labels"}).logits[0]
            alone = torch.cat([model(input_ids=torch.tensor([d])).logits[0] for d in docs])
    finally:
        attention.implementation(attention.PER_DOCUMENT)
    assert torch.allclose(packed, alone, atol=1e-5), (packed - alone).abs().max()
    assert calls[: config.num_hidden_layers] == [(14, True)] * config.num_hidden_layers
    with torch.no_grad():  # plain SDPA over the packed row, for contrast: its tokens see the documents before them
        model.set_attn_implementation("sdpa")
        leaky = model(input_ids=batch["input_ids"]).logits[0]
    assert not torch.allclose(leaky, alone, atol=1e-3)


@pytest.mark.parametrize("prepared", [False, True])
def test_a_local_job_whose_folder_comes_late_still_runs_once_prepared(tmp_path, monkeypatch, prepared):
    """submitit's local executor creates a job's folder after starting its controller, which opens its logs there.
    A second's delay before the folder exists (what a busy sweeper thread can cause) loses the job unless
    launchers.prepare made the controller wait for it. The executor is built from the launcher's params as
    Hydra's submitit launcher builds it."""
    import submitit
    from hydra_plugins.hydra_submitit_launcher.submitit_launcher import LocalLauncher
    from submitit.core import utils

    from llmsweep.sweeping import launchers

    move = utils.JobPaths.move_temporary_file

    def late(self, *args, **kwargs):
        time.sleep(1.0)
        return move(self, *args, **kwargs)

    monkeypatch.setattr(utils.JobPaths, "move_temporary_file", late)
    launcher = LocalLauncher(submitit_folder=str(tmp_path / "odd $dir" / "%j"), timeout_min=1)
    if prepared:
        launchers.prepare(launcher)
    executor = submitit.AutoExecutor(cluster="local", folder=launcher.params["submitit_folder"])
    executor.update_parameters(timeout_min=1, **{f"local_{k}": v for k, v in launcher.params.items() if k == "setup"})
    job = executor.submit(sum, [1, 2])
    if prepared:
        assert job.result() == 3
    else:  # the controller exited before starting the task: no log, no result (job.result() would say so, slowly)
        while not job.done():
            time.sleep(0.1)
        assert not job.paths.stdout.exists() and not job.paths.result_pickle.exists()
