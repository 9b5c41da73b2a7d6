"""Small pure pieces: record formatting, the chat template, the secrets guard."""

from __future__ import annotations

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
