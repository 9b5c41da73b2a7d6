"""serve.py under hostile input: schemathesis against its own /openapi.json, then hand-made bodies; its default
model name; Ctrl-C. No client input may get a 5xx or a non-JSON body, and the server keeps serving."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time

import httpx
import pytest

from helpers import REPO, chat_server, free_port

MAX_TOKENS = 16
MAX_BYTES = 262144
OK_MESSAGES = [{"role": "user", "content": "한국의 수도는 어디인가요?"}]


@pytest.fixture(scope="module")
def server(tiny_chat_run):
    with chat_server(
        tiny_chat_run,
        "model_name=auto",
        f"max_tokens={MAX_TOKENS}",
        f"max_request_bytes={MAX_BYTES}",
        "engine.threads=1",
    ) as s:
        s.root = s.base_url[: -len("/v1")]
        yield s


def still_answers(server) -> None:
    r = httpx.post(
        f"{server.base_url}/chat/completions",
        json={"model": "mistral-lora", "messages": OK_MESSAGES, "temperature": 0, "max_tokens": 4},
        timeout=60,
    )
    assert r.status_code == 200, r.text
    assert r.json()["choices"][0]["message"]["role"] == "assistant"


def test_default_model_name_is_model_and_method_and_the_path_still_works(server, tiny_chat_run):
    assert [m["id"] for m in httpx.get(f"{server.base_url}/models").json()["data"]] == ["mistral-lora"]
    r = httpx.post(
        f"{server.base_url}/chat/completions",
        json={"model": str(tiny_chat_run), "messages": OK_MESSAGES, "temperature": 0, "max_tokens": 2},
        timeout=60,
    )
    assert r.status_code == 200 and r.json()["model"] == "mistral-lora", r.text
    assert httpx.get(f"{server.base_url}/models/{tiny_chat_run}").json()["id"] == "mistral-lora"


def test_default_model_name_of_merges_and_saved_models(tmp_path):
    from omegaconf import OmegaConf

    from llmsweep.serving.naming import default_model_name

    saved = tmp_path / "solar-dpo-final"
    saved.mkdir()
    assert default_model_name(saved) == "solar-dpo-final"
    merged = tmp_path / "run"
    (merged / ".hydra").mkdir(parents=True)
    choices = {"merge": "ties", "data": "dolly_ko"}
    OmegaConf.save({"hydra": {"runtime": {"choices": choices}}}, merged / ".hydra" / "hydra.yaml")
    assert default_model_name(merged) == "merge-ties"


def test_openapi_describes_the_real_request_and_responses(server):
    doc = httpx.get(f"{server.root}/openapi.json").json()
    chat = doc["paths"]["/v1/chat/completions"]["post"]
    ref = chat["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    request = doc["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert {"model", "messages"} <= set(request["required"])
    assert "mistral-lora" in request["properties"]["model"]["enum"]
    assert request["properties"]["max_tokens"]["anyOf"][0]["maximum"] == MAX_TOKENS
    assert {"200", "400", "404", "413"} <= set(chat["responses"])
    assert "text/event-stream" in chat["responses"]["200"]["content"]


def test_schemathesis_fuzzing_finds_no_server_error(server, tmp_path):
    """Every check schemathesis has, for ~30 s; schema-valid bodies may still exceed the model's context, a
    limit the schema cannot state, so `positive_data_acceptance` is left out. Schemathesis exits non-zero on any
    failed check; its warnings (about the generated data, not the server) are printed, not failures."""
    argv = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "run",
        f"{server.root}/openapi.json",
        "--checks",
        "all",
        "--exclude-checks",
        "positive_data_acceptance",
        "--workers",
        "1",
        "--seed",
        "17",
        "--max-time",
        "30",
        "--request-timeout",
        "60",
    ]
    proc = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-8000:] + proc.stderr[-2000:]
    cases = re.search(r"Test cases:\s*\n\s*(.*)", proc.stdout)  # "N generated, [F failed, ]P passed[, S skipped]"
    assert cases and not re.search(r"failed|errored", cases.group(1)), proc.stdout[-8000:]
    assert int(re.search(r"(\d+) passed", cases.group(1)).group(1)) > 100, cases.group(1)
    if "No issues found" not in proc.stdout:
        print(proc.stdout[-3000:])  # schemathesis' warnings, for the log
    still_answers(server)


def hostile_bodies() -> dict[str, bytes]:
    ok = {"model": "mistral-lora", "messages": OK_MESSAGES, "max_tokens": 4}

    def body(**fields) -> bytes:
        return json.dumps({**ok, **fields}).encode()

    def raw(text: str) -> bytes:  # JSON the json module would not write: NaN, lone surrogates, ...
        return text.encode()

    msgs = '[{"role": "user", "content": "hi"}]'
    return {
        "temperature NaN": raw(f'{{"model": "mistral-lora", "messages": {msgs}, "temperature": NaN}}'),
        "temperature Infinity": raw(f'{{"model": "mistral-lora", "messages": {msgs}, "temperature": Infinity}}'),
        "top_p -Infinity": raw(f'{{"model": "mistral-lora", "messages": {msgs}, "top_p": -Infinity}}'),
        "seed NaN": raw(f'{{"model": "mistral-lora", "messages": {msgs}, "seed": NaN}}'),
        "tiny temperature": body(temperature=1e-300, seed=1),
        "tiny temperature streamed": body(temperature=5e-324, seed=1, stream=True),
        "tiny top_p": body(temperature=1, top_p=5e-324, seed=1),
        "seed above int64": body(temperature=1, seed=2**64),
        "seed below int64": body(temperature=1, seed=-(2**63) - 1),
        "seed 10**30": body(temperature=1, seed=10**30),
        "max_tokens 5000 digits": raw(f'{{"model": "mistral-lora", "messages": {msgs}, "max_tokens": {"9" * 5000}}}'),
        "max_tokens 1e400": raw(f'{{"model": "mistral-lora", "messages": {msgs}, "max_tokens": 1e400}}'),
        "max_tokens 0": body(max_tokens=0),
        "max_tokens -1": body(max_tokens=-1),
        "max_tokens float": body(max_tokens=2.5),
        "max_tokens string": body(max_tokens="4"),
        "lone high surrogate in content": raw(
            '{"model": "mistral-lora", "messages": [{"role": "user", "content": "a\\ud800b"}]}'
        ),
        "lone low surrogate in model": raw(f'{{"model": "x\\udc00", "messages": {msgs}}}'),
        "lone surrogate in an ignored key": raw(f'{{"model": "mistral-lora", "messages": {msgs}, "\\udfff": 1}}'),
        "NUL and controls": body(messages=[{"role": "user", "content": "\x00\x01\x1b[31m\x7f"}]),
        "zero-width, bidi, combining": body(messages=[{"role": "user", "content": "\u200b\u202e\u0301\ufe0f" * 50}]),
        "astral and private use": body(messages=[{"role": "user", "content": "😀\U0010fffd\ue000𝔘"}]),
        "BOM before the body": b"\xef\xbb\xbf" + body(),
        "UTF-16 body": json.dumps(ok).encode("utf-16"),
        "not UTF-8": b'{"model": "\xff\xfe", "messages": []}',
        "truncated": body()[:-5],
        "empty body": b"",
        "deep array": raw(f'{{"model": "mistral-lora", "messages": {msgs}, "x": {"[" * 100000}{"]" * 100000}}}'),
        "deep messages": raw('{"model": "mistral-lora", "messages": ' + "[" * 50000 + "]" * 50000 + "}"),
        "many keys": raw("{" + ",".join(f'"k{i}": {i}' for i in range(20000)) + "}"),
        "many messages": body(messages=[{"role": "user", "content": "가"}] * 3000),
        "huge content near the limit": body(messages=[{"role": "user", "content": "a " * (MAX_BYTES // 2 - 200)}]),
        "huge model name": body(model="m" * (MAX_BYTES - 200)),
        "body is an array": b"[]",
        "body is a string": b'"hello"',
        "body is null": b"null",
        "body is a number": b"1e999",
        "messages is a string": body(messages="hello"),
        "messages is an object": body(messages={"role": "user", "content": "hi"}),
        "message is null": body(messages=[None]),
        "message is empty": body(messages=[{}]),
        "empty messages": body(messages=[]),
        "empty content": body(messages=[{"role": "user", "content": ""}]),
        "content is an int": body(messages=[{"role": "user", "content": 5}]),
        "content is null": body(messages=[{"role": "user", "content": None}]),
        "content part of an unknown type": body(
            messages=[{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]
        ),
        "content part without text": body(messages=[{"role": "user", "content": [{"type": "text"}]}]),
        "unknown role": body(messages=[{"role": "robot", "content": "hi"}]),
        "tool role": body(messages=[{"role": "tool", "content": "hi", "tool_call_id": "1"}]),
        "role is empty": body(messages=[{"role": "", "content": "hi"}]),
        "only a system message": body(messages=[{"role": "system", "content": "hi"}]),
        "only an assistant message": body(messages=[{"role": "assistant", "content": "hi"}]),
        "model is null": body(model=None),
        "model is a list": body(model=["mistral-lora"]),
        "model missing": json.dumps({"messages": OK_MESSAGES}).encode(),
        "stop is empty": body(stop="", temperature=1, seed=1),
        "stops are empty": body(stop=["", "", "", ""], temperature=1, seed=1),
        "five stops": body(stop=["a", "b", "c", "d", "e"]),
        "stop is an int": body(stop=5),
        "stop of odd Unicode": body(stop=["\u200b", "😀", "\x00", "\ufffd"], temperature=1, seed=1),
        "long stop": body(stop=["가" * 2000], temperature=1, seed=1),
        "n 0": body(n=0),
        "n 2": body(n=2),
        "stream is a string": body(stream="yes"),
        "stream is 1": body(stream=1),
        "stream_options is a list": body(stream=True, stream_options=[]),
        "negative temperature": body(temperature=-0.0001),
        "top_p 0": body(top_p=0),
        "temperature is a string": body(temperature="0.5"),
        "temperature is a bool": body(temperature=True),
    }


def test_hostile_bodies_get_json_4xx_and_the_server_keeps_serving(server):
    answers = {}
    with httpx.Client(timeout=120) as http:
        for name, content in hostile_bodies().items():
            r = http.post(
                f"{server.base_url}/chat/completions", content=content, headers={"Content-Type": "application/json"}
            )
            answers[name] = r.status_code
            assert r.status_code < 500, (name, r.status_code, r.text[:500])
            if r.headers["content-type"].startswith("text/event-stream"):
                events = [line for line in r.text.splitlines() if line]
                assert events[-1] == "data: [DONE]" and all(
                    json.loads(e[6:]).get("choices") is not None for e in events[:-1]
                ), (name, r.text[:500])
                continue
            data = r.json()  # JSON, whatever the status
            assert (r.status_code == 200) == ("error" not in data), (name, data)
            if r.status_code != 200:
                assert data["error"]["message"] and data["error"]["type"], (name, data)
    # what must be refused is refused (the rest may be answered: odd Unicode is a valid prompt)
    refused = {n for n, s in answers.items() if s >= 400}
    assert {
        "temperature NaN",
        "seed above int64",
        "lone high surrogate in content",
        "deep array",
        "empty messages",
        "unknown role",
        "max_tokens 5000 digits",
        "five stops",
        "stream is 1",
    } <= refused, answers
    assert answers["tiny temperature"] == 200 and answers["stops are empty"] == 200 and answers["long stop"] == 200
    still_answers(server)


def test_ctrl_c_stops_the_server_promptly_with_one_line(tiny_chat_run, tmp_path):
    """SIGINT as a terminal sends it to a foreground serve.py (SIGINT not ignored, whoever started pytest)."""
    port, log = free_port(), tmp_path / "serve.log"
    argv = [sys.executable, "serve.py", f"run_dir={tiny_chat_run}", f"port={port}", "engine.threads=1"]
    env = dict(os.environ, HF_HUB_OFFLINE="1", PYTHONUNBUFFERED="1")
    env.pop("LLMSWEEP_API_TOKEN", None)
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            argv,
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 180
        while True:
            assert proc.poll() is None, log.read_text(errors="replace")[-3000:]
            try:
                httpx.get(f"{base}/health", timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "serve.py did not start"
                time.sleep(0.25)
        long_answer = {
            "model": "mistral-lora",
            "messages": OK_MESSAGES,
            "stream": True,
            "temperature": 1,
            "max_tokens": 512,
        }
        with httpx.stream("POST", f"{base}/v1/chat/completions", timeout=60, json=long_answer) as r:
            next(r.iter_lines())  # a generation is running when Ctrl-C arrives
            start = time.monotonic()
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=15)
            took = time.monotonic() - start
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    text = log.read_text(errors="replace")
    assert took < 5, f"serve.py took {took:.1f}s to stop after SIGINT"
    assert proc.returncode == 0, text[-2000:]
    assert "Traceback" not in text and "KeyboardInterrupt" not in text, text[-3000:]
    assert text.rstrip().splitlines()[-1] == "serve.py: stopped", text[-1000:]
