"""serve.py: the real server (uvicorn, subprocess) over a tiny LoRA run, driven by the real openai client."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading

import httpx
import openai
import pytest

from helpers import REPO, chat_server

TOKEN = "llmsweep-test-token-5f0c2a9e81d4"
WRONG_TOKEN = "llmsweep-wrong-token-77aa31b0c6e9"
MAX_TOKENS = 64
MAX_BYTES = 65536
PROMPTS = [
    [{"role": "user", "content": "서울에서 부산까지 가는 방법을 설명해 줘."}],
    [{"role": "system", "content": "친절하게 답하세요."}, {"role": "user", "content": "한국의 수도는 어디인가요?"}],
    [{"role": "user", "content": "오늘 저녁 메뉴를 추천해 주세요."}],
    [{"role": "user", "content": "임도윤은 프로 선수로 몇 년 동안 활약하였나요?"}],
]


@pytest.fixture(scope="module")
def server(tiny_chat_run):
    with chat_server(
        tiny_chat_run, f"max_tokens={MAX_TOKENS}", f"max_request_bytes={MAX_BYTES}", "engine.threads=1", token=TOKEN
    ) as s:
        yield s


@pytest.fixture(scope="module")
def client(server):
    return server.client()


@pytest.fixture(scope="module")
def reference(tiny_chat_run):
    """The same run loaded in this process, independently of the server's code: peft + tokenizer."""
    from peft import AutoPeftModelForCausalLM
    from transformers import AutoTokenizer

    model = AutoPeftModelForCausalLM.from_pretrained(str(tiny_chat_run / "model")).eval()
    tokenizer = AutoTokenizer.from_pretrained(str(tiny_chat_run / "model"))
    return model, tokenizer


def generate(reference, messages, max_new_tokens, seed=None, temperature=0.0):
    """`model.generate` on the chat-templated prompt; (answer, prompt token count)."""
    import torch

    model, tok = reference
    text = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    ids = tok(text, return_tensors="pt", add_special_tokens=False)
    if temperature == 0:
        sampling = {"do_sample": False}
    else:
        torch.manual_seed(seed)
        sampling = {"do_sample": True, "temperature": temperature, "top_p": 1.0, "top_k": 0}
    with torch.no_grad():
        out = model.generate(**ids, max_new_tokens=max_new_tokens, pad_token_id=tok.pad_token_id, **sampling)
    return tok.decode(out[0, ids["input_ids"].shape[1] :], skip_special_tokens=True), ids["input_ids"].shape[1]


def streamed(client, **kwargs):
    """(content pieces, finish_reason) of a streamed completion."""
    pieces, finish = [], None
    for chunk in client.chat.completions.create(stream=True, **kwargs):
        if chunk.choices:
            pieces.append(chunk.choices[0].delta.content or "")
            finish = chunk.choices[0].finish_reason or finish
    return [p for p in pieces if p], finish


def test_models_lists_the_served_run(client, server):
    assert [m.id for m in client.models.list()] == ["tiny-chat"]
    assert client.models.retrieve("tiny-chat").id == "tiny-chat"


@pytest.mark.parametrize("i", range(2))
def test_greedy_answer_equals_model_generate(client, reference, i):
    expected, prompt_tokens = generate(reference, PROMPTS[i], 24)
    r = client.chat.completions.create(model="tiny-chat", messages=PROMPTS[i], temperature=0, max_tokens=24)
    assert r.choices[0].message.content == expected
    assert r.choices[0].message.role == "assistant"
    assert r.usage.prompt_tokens == prompt_tokens
    assert r.choices[0].finish_reason in ("stop", "length")
    if r.usage.completion_tokens < 24:
        assert r.choices[0].finish_reason == "stop"


def test_seeded_sampling_equals_model_generate_and_repeats(client, reference):
    answers = []
    for seed in (1, 2, 3):
        expected, _ = generate(reference, PROMPTS[0], 32, seed=seed, temperature=0.8)
        kwargs = dict(model="tiny-chat", messages=PROMPTS[0], temperature=0.8, top_p=1.0, seed=seed, max_tokens=32)
        first = client.chat.completions.create(**kwargs).choices[0].message.content
        again = client.chat.completions.create(**kwargs).choices[0].message.content
        assert first == again == expected
        answers.append(first)
    assert len(set(answers)) > 1, "different seeds should sample different answers"


@pytest.mark.parametrize("temperature,seed", [(0, None), (0.8, 1)])
def test_stream_sends_the_same_answer_in_chunks(client, temperature, seed):
    kwargs = dict(model="tiny-chat", messages=PROMPTS[0], temperature=temperature, seed=seed, max_tokens=32)
    whole = client.chat.completions.create(**kwargs).choices[0]
    pieces, finish = streamed(client, **kwargs)
    assert "".join(pieces) == whole.message.content
    assert finish == whole.finish_reason
    if temperature:
        assert len(pieces) > 1, "a 32-token sampled answer arrives in several chunks"


def test_stream_is_server_sent_events_ending_with_done(server):
    body = {
        "model": "tiny-chat",
        "messages": PROMPTS[1],
        "temperature": 0,
        "max_tokens": 8,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    with httpx.stream(
        "POST", f"{server.base_url}/chat/completions", json=body, headers={"Authorization": f"Bearer {TOKEN}"}
    ) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        events = [line for line in r.iter_lines() if line]
    assert all(e.startswith("data: ") for e in events)
    assert events[-1] == "data: [DONE]"
    chunks = [json.loads(e[len("data: ") :]) for e in events[:-1]]
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"} and len({c["id"] for c in chunks}) == 1
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert chunks[-2]["choices"][0]["finish_reason"] in ("stop", "length")
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["total_tokens"] > 0


def test_stop_strings_cut_the_answer_before_them(client):
    kwargs = dict(model="tiny-chat", messages=PROMPTS[0], temperature=0.8, max_tokens=32)
    for seed in range(1, 8):
        full = client.chat.completions.create(seed=seed, **kwargs).choices[0].message.content
        if len(full) >= 8:
            break
    else:
        pytest.fail("no sampled answer of 8+ characters to cut")
    stop = full[4:6]
    cut = full[: full.find(stop)]
    r = client.chat.completions.create(seed=seed, stop=[stop, "never-seen-stop"], **kwargs).choices[0]
    assert (r.message.content, r.finish_reason) == (cut, "stop")
    pieces, finish = streamed(client, seed=seed, stop=stop, **kwargs)
    assert ("".join(pieces), finish) == (cut, "stop")


def test_max_tokens_bounds_the_answer(client):
    r = client.chat.completions.create(model="tiny-chat", messages=PROMPTS[0], temperature=1.0, seed=1, max_tokens=3)
    assert r.usage.completion_tokens == 3 and r.choices[0].finish_reason == "length"


def long_prompt(reference) -> str:
    """A message longer than the model's context (1024 tokens) but well inside the byte limit."""
    text = " ".join(str(i) for i in range(1500))
    assert len(reference[1](text)["input_ids"]) > 1024 and len(text.encode()) < MAX_BYTES
    return text


def bad_requests(reference):
    ok = {"model": "tiny-chat", "messages": PROMPTS[1], "max_tokens": 4}
    auth = {"Authorization": f"Bearer {TOKEN}"}
    return {
        "bad json": (auth, b'{"model": "tiny-chat", "messages": [', 400, "invalid_json"),
        "not utf-8": (auth, b"\xff\xfe{}", 400, "invalid_json"),
        "no token": ({}, ok, 401, "invalid_api_key"),
        "wrong token": ({"Authorization": f"Bearer {WRONG_TOKEN}"}, ok, 401, "invalid_api_key"),
        "token without bearer": ({"Authorization": TOKEN}, ok, 401, "invalid_api_key"),
        "unknown model": (auth, {**ok, "model": "gpt-4o"}, 404, "model_not_found"),
        "max_tokens above limit": (auth, {**ok, "max_tokens": MAX_TOKENS + 1}, 400, "max_tokens_exceeded"),
        "prompt beyond context": (
            auth,
            {**ok, "messages": [{"role": "user", "content": long_prompt(reference)}]},
            400,
            "context_length_exceeded",
        ),
        "no messages": (auth, {"model": "tiny-chat", "messages": []}, 400, None),
        "bad role": (auth, {**ok, "messages": [{"role": "robot", "content": "hi"}]}, 400, None),
        "temperature out of range": (auth, {**ok, "temperature": 5}, 400, None),
        "n above 1": (auth, {**ok, "n": 2}, 400, None),
        "body over the limit": (
            auth,
            {**ok, "messages": [{"role": "user", "content": "가" * MAX_BYTES}]},
            413,
            "request_too_large",
        ),
    }


def test_bad_requests_get_openai_errors_and_the_server_keeps_serving(server, client, reference):
    for name, (headers, body, status, code) in bad_requests(reference).items():
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        r = httpx.post(
            f"{server.base_url}/chat/completions",
            content=content,
            headers={**headers, "Content-Type": "application/json"},
        )
        assert r.status_code == status, (name, r.text)
        error = r.json()["error"]
        assert error["message"] and error["type"], name
        assert error["code"] == code, (name, error)
        assert httpx.get(f"{server.base_url[:-3]}/health").json()["status"] == "ok"
    assert httpx.get(f"{server.base_url}/models").status_code == 401
    assert httpx.get(f"{server.base_url}/no-such-route", headers={"Authorization": f"Bearer {TOKEN}"}).json()["error"][
        "message"
    ]
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="gpt-4o", messages=PROMPTS[1])
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=server.base_url, api_key=WRONG_TOKEN, max_retries=0).models.list()
    r = client.chat.completions.create(model="tiny-chat", messages=PROMPTS[1], temperature=0, max_tokens=8)
    assert r.choices[0].finish_reason in ("stop", "length")


def test_32_concurrent_requests_all_complete(server, client):
    expected = {
        i: client.chat.completions.create(model="tiny-chat", messages=p, temperature=0, max_tokens=16)
        .choices[0]
        .message.content
        for i, p in enumerate(PROMPTS)
    }

    async def burst():
        async with openai.AsyncOpenAI(base_url=server.base_url, api_key=TOKEN, max_retries=0, timeout=300) as aclient:

            async def one(k):
                i = k % len(PROMPTS)
                kwargs = dict(model="tiny-chat", messages=PROMPTS[i], temperature=0, max_tokens=16)
                if k % 2:
                    pieces = []
                    async for chunk in await aclient.chat.completions.create(stream=True, **kwargs):
                        if chunk.choices:
                            pieces.append(chunk.choices[0].delta.content or "")
                    return i, "".join(pieces)
                r = await aclient.chat.completions.create(**kwargs)
                return i, r.choices[0].message.content

            return await asyncio.gather(*(one(k) for k in range(32)))

    results = asyncio.run(burst())
    assert len(results) == 32
    assert all(text == expected[i] for i, text in results)
    assert httpx.get(f"{server.base_url[:-3]}/health").json()["pending"] == 0


def test_tokens_never_reach_the_server_log(server, client):
    client.models.list()
    log = server.log.read_text(errors="replace")
    assert "POST /v1/chat/completions" in log  # the log is the server's access log
    assert TOKEN not in log and WRONG_TOKEN not in log


def serve_cli(*args: str, env_extra: dict | None = None) -> subprocess.CompletedProcess:
    import os

    env = {k: v for k, v in os.environ.items() if k != "LLMSWEEP_API_TOKEN"}
    env.update(env_extra or {})
    return subprocess.run(
        [sys.executable, "serve.py", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=300
    )


def test_refuses_to_listen_off_loopback_without_a_token(tiny_chat_run):
    proc = serve_cli(f"run_dir={tiny_chat_run}", "host=0.0.0.0")
    assert proc.returncode == 2
    assert "host=0.0.0.0 is not a loopback address" in proc.stderr and "LLMSWEEP_API_TOKEN" in proc.stderr
    proc = serve_cli()
    assert proc.returncode == 2 and "run_dir is required" in proc.stderr


def test_vllm_engine_switch_without_vllm_says_how_to_get_it(tiny_chat_run):
    import importlib.util

    if importlib.util.find_spec("vllm") is not None:
        pytest.skip("vllm is installed: engine=vllm would start")
    proc = serve_cli(f"run_dir={tiny_chat_run}", "engine=vllm")
    assert proc.returncode == 2
    assert "engine=vllm needs the vllm package" in proc.stderr and "engine=transformers" in proc.stderr


def test_run_dirs_full_models_and_non_models(tiny_chat_run, tmp_path):
    """A run dir serves its model/; a full (or merged) model dir is served as it is; anything else is a clear error."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from llmsweep.errors import UserError
    from llmsweep.serving.engine import SamplingParams, adapter_base, load_transformers_engine, model_dir_of

    assert model_dir_of(tiny_chat_run) == tiny_chat_run / "model"
    base = adapter_base(tiny_chat_run / "model")
    assert model_dir_of(base) == type(tiny_chat_run)(base)
    with pytest.raises(UserError, match="holds a model"):
        model_dir_of(tmp_path)
    with pytest.raises(UserError, match="no such directory"):
        model_dir_of(tmp_path / "missing")

    engine = load_transformers_engine(base)
    assert adapter_base(model_dir_of(base)) is None and not hasattr(engine.model, "peft_config")
    done = engine.complete(PROMPTS[1], SamplingParams(max_tokens=12, temperature=0))
    model, tok = AutoModelForCausalLM.from_pretrained(base), AutoTokenizer.from_pretrained(base)
    expected, prompt_tokens = generate((model, tok), PROMPTS[1], 12)
    assert done.text == expected and done.prompt_tokens == prompt_tokens
    assert torch.equal(next(engine.model.parameters()), next(model.parameters()))

    gone = threading.Event()  # what a streaming client that disconnects sets: generation stops at the next token
    gone.set()
    assert (
        engine.complete(
            PROMPTS[0], SamplingParams(max_tokens=12, temperature=1.0, seed=1), cancelled=gone
        ).completion_tokens
        == 1
    )


def test_stop_trimmer_holds_back_a_possible_stop_string():
    from llmsweep.serving.engine import StopTrimmer

    t = StopTrimmer(["###", "END"])
    assert [t.feed(p) for p in ["ab", "c#", "#x", "E", "N", "#", "#", "#tail"]] == [
        "ab",
        "c",
        "##x",
        "",
        "",
        "EN",
        "",
        "",
    ]
    assert t.stopped and t.flush() == ""
    t = StopTrimmer(["###"])
    assert t.feed("a#") == "a" and t.flush() == "#"


def test_generation_queue_is_bounded():
    from llmsweep.serving.app import APIError, GenerationWorker

    async def scenario():
        worker = GenerationWorker(queue_size=1)
        gate = threading.Event()
        running = worker.submit(gate.wait)
        waiting = worker.submit(lambda: "second")
        with pytest.raises(APIError) as full:
            worker.submit(lambda: "third")
        assert full.value.status == 503 and full.value.headers["Retry-After"]
        gate.set()
        assert await waiting == "second" and await running
        await asyncio.sleep(0)
        assert worker.pending == 0
        assert await worker.submit(lambda: "after") == "after"

    asyncio.run(scenario())


def test_only_loopback_binds_without_a_token():
    from llmsweep.errors import UserError
    from llmsweep.serving.security import bearer_matches, check_bind, is_loopback

    assert all(is_loopback(h) for h in ("127.0.0.1", "localhost", "::1", "127.0.0.2"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "::", "192.168.1.5", "example.com"))
    check_bind("127.0.0.1", None, "LLMSWEEP_API_TOKEN")
    check_bind("0.0.0.0", TOKEN, "LLMSWEEP_API_TOKEN")
    with pytest.raises(UserError, match="LLMSWEEP_API_TOKEN"):
        check_bind("0.0.0.0", None, "LLMSWEEP_API_TOKEN")
    assert bearer_matches(TOKEN, f"Bearer {TOKEN}") and bearer_matches(TOKEN, f"bearer {TOKEN}")
    assert not any(
        bearer_matches(TOKEN, h)
        for h in (None, "", TOKEN, f"Bearer {WRONG_TOKEN}", f"Basic {TOKEN}", f"Bearer {TOKEN}x")
    )


def test_openapi_document_needs_the_token_too(server):
    root = server.base_url[: -len("/v1")]
    assert httpx.get(f"{root}/openapi.json").status_code == 401
    doc = httpx.get(f"{root}/openapi.json", headers={"Authorization": f"Bearer {TOKEN}"}).json()
    assert "requestBody" in doc["paths"]["/v1/chat/completions"]["post"]
