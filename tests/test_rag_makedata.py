"""make-data against a scripted endpoint test double: an in-process HTTP server speaking the chat-completions
route, scripted per chunk to answer well, with junk, with 500s (then recovering, or never) and too slowly (a
timeout). The real openai client talks to it, so retries, backoff and timeouts are the client's own. The same
command against the real serve.py is in test_rag_serve.py."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

pytest.importorskip("kiwipiepy")

from helpers import read_jsonl
from llmsweep.errors import UserError
from llmsweep.rag import ChunkSettings, ingest
from llmsweep.rag.__main__ import main as rag_main
from llmsweep.rag.endpoint import ChatEndpoint
from llmsweep.rag.makedata import Options, heldout_path, make_data, parse_pairs
from llmsweep.rag.qa import grounding_problem, supported

KEY = "sk-testSECRET-0123456789"
PAGES = {  # marker -> page text; the double picks its behaviour by the marker in the prompt
    "good": "서울은 대한민국의 수도이다. 서울의 인구는 약 940만 명이다.",
    "flaky": "부산은 남쪽 바다에 닿은 항구 도시이며 해운대 해수욕장이 유명하다.",
    "down": "대구는 분지 지형이라 여름이 덥다.",
    "slow": "인천에는 큰 국제공항이 있다.",
    "junk": "광주는 빛고을이라 불린다.",
    "lines": "대전은 과학 도시로 알려져 있으며 엑스포가 열렸다.",
    "prose": "울산은 자동차 공업이 발달했다.",
    "html": "제주도는 화산섬이며 한라산이 있다.",
}
REPLIES = {
    "good": json.dumps(
        [
            {"question": "대한민국의 수도는 어디인가?", "answer": "서울"},  # "서울" is in the title 서울_안내
            {"question": "서울의 인구는 얼마인가?", "answer": "약 940만 명"},  # kept
            {"question": "서울의  인구는, 얼마인가 ?", "answer": "940만 명"},  # the same question: duplicate
            {"question": "서울의 면적은?", "answer": "605제곱킬로미터"},  # not in the chunk
            {"question": "", "answer": "수도"},
        ],
        ensure_ascii=False,
    ),
    "flaky": '여기 있습니다: [{"question": "해운대 해수욕장이 있는 도시는?", "answer": "부산"}]',
    "lines": "1. 질문: 엑스포가 열린 과학 도시는?\n답: 대전\n2. 질문: 대전은 무엇으로 알려져 있나?\n답: 과학 도시로",
    "prose": "울산에 대해 좋은 질문을 만들기 어렵습니다.",
}


class Double:
    """The scripted endpoint: counts requests per marker and records the Authorization headers it saw."""

    def __init__(self):
        self.calls: Counter = Counter()
        self.auth: set = set()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def _handler(self):
        double = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, status: int, body: bytes, ctype: str = "application/json"):
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    self.wfile.write(body)
                except BrokenPipeError:  # the client timed out first (the "slow" chunk)
                    pass

            def do_POST(self):
                req = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                double.auth.add(self.headers.get("Authorization"))
                prompt = req["messages"][-1]["content"]
                marker = next(m for m, text in PAGES.items() if text in prompt)
                double.calls[marker] += 1
                if marker == "down" or (marker == "flaky" and double.calls[marker] <= 2):
                    return self._send(500, b'{"error": {"message": "engine crashed", "type": "server_error"}}')
                if marker == "slow":
                    time.sleep(1.5)
                if marker == "html":
                    return self._send(200, b"<html>502 Bad Gateway</html>", "text/html")
                content = REPLIES.get(marker, "asdf qwer }{ ][")  # junk: a chat completion whose text is noise
                body = {
                    "id": "x",
                    "object": "chat.completion",
                    "created": 0,
                    "model": req["model"],
                    "choices": [
                        {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}
                    ],
                }
                self._send(200, json.dumps(body, ensure_ascii=False).encode())

        return Handler

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("makedata")
    doc = root / "서울_안내.txt"
    doc.write_text("\f".join(PAGES.values()), encoding="utf-8")  # one page (one chunk) per marker
    ingest([doc], root / "index", ChunkSettings(500, 50), progress=False)
    return root / "index"


@pytest.fixture
def double():
    d = Double()
    yield d
    d.close()


def endpoint(double: Double, cache: Path | None, attempts: int = 3) -> ChatEndpoint:
    return ChatEndpoint(
        double.base_url,
        "scripted",
        api_key_env="TEST_MAKEDATA_KEY",
        timeout_s=0.5,
        attempts=attempts,
        cache_dir=cache,
        prompt_version="test",
    )


def test_grounded_pairs_kept_and_every_other_row_rejected_with_its_reason(index_dir, double, tmp_path, monkeypatch):
    monkeypatch.setenv("TEST_MAKEDATA_KEY", KEY)
    out = tmp_path / "docqa.jsonl"
    s = make_data(index_dir, out, endpoint(double, tmp_path / "cache"), Options(pairs=3, heldout=0.0), progress=False)
    records = read_jsonl(out)
    assert {(r["instruction"], r["response"]) for r in records} == {
        ("서울의 인구는 얼마인가?", "약 940만 명"),
        ("해운대 해수욕장이 있는 도시는?", "부산"),
        ("엑스포가 열린 과학 도시는?", "대전"),
        ("대전은 무엇으로 알려져 있나?", "과학 도시로"),
    }
    assert all(r["category"] == "closed_qa" and r["context"] in PAGES.values() for r in records)
    assert all(
        r["response"].strip(".") in r["context"].replace(" ", "") or r["response"] in r["context"] for r in records
    )
    rejects = read_jsonl(out.with_name(out.name + ".rejects.jsonl"))
    assert Counter(r["reason"] for r in rejects) == Counter(
        {
            "answerable from the title": 1,
            "duplicate question": 1,
            "answer not in chunk": 1,
            "empty question": 1,
            "endpoint error": 3,  # down (500s), slow (timeouts), html (not a chat completion)
            "unparsable reply": 2,  # junk, prose
        }
    )
    by_reason = {r["reason"]: r for r in rejects}
    assert "HTTP 500" in [r for r in rejects if r["row"]["chunk_id"].endswith("p3-c0")][0]["detail"]
    assert "timeout" in [r for r in rejects if r["row"]["chunk_id"].endswith("p4-c0")][0]["detail"]
    assert by_reason["unparsable reply"]["row"]["reply"]
    assert s["rows_in"] == s["rows_out"] + s["rows_rejected"] == len(records) + len(rejects) == 13
    # bounded retries: 3 calls in all for what keeps failing, the flaky one recovered on its third
    assert double.calls["down"] == 3 and double.calls["slow"] == 3 and double.calls["flaky"] == 3
    assert double.auth == {f"Bearer {KEY}"}
    written = "".join(p.read_text(encoding="utf-8") for p in tmp_path.rglob("*") if p.is_file())
    assert KEY not in written  # the key from the environment is sent, never written

    # a re-run asks only for what failed or was unparsable: good replies come from the disk cache
    before = Counter(double.calls)
    s2 = make_data(index_dir, out, endpoint(double, tmp_path / "cache"), Options(pairs=3, heldout=0.0), progress=False)
    asked = double.calls - before
    assert asked["good"] == asked["flaky"] == asked["lines"] == 0 and asked["junk"] == 1
    assert s2["cached_replies"] == 3 and read_jsonl(out) == records


def test_heldout_split_is_by_chunk_and_names_its_doc_and_page(index_dir, double, tmp_path):
    out = tmp_path / "docqa.jsonl"
    s = make_data(
        index_dir, out, endpoint(double, None, attempts=1), Options(pairs=3, heldout=0.5, seed=3), progress=False
    )
    train, held = read_jsonl(out), read_jsonl(heldout_path(out))
    assert s["heldout_written"] == len(held) and s["records_written"] == len(train)
    assert held and train and not {r["context"] for r in held} & {r["context"] for r in train}
    for r in held:
        assert r["doc"] == "서울_안내.txt" and PAGES[list(PAGES)[r["page"] - 1]] == r["context"]


def test_cli_prints_the_accounting_and_a_refusing_endpoint_is_one_line(index_dir, double, tmp_path, capsys):
    out = tmp_path / "d.jsonl"
    code = rag_main(
        [
            "make-data",
            str(index_dir),
            "--out",
            str(out),
            "--base-url",
            double.base_url,
            "--model",
            "m",
            "--attempts",
            "1",
            "--timeout",
            "0.5",
            "--cache-dir",
            "none",
        ]
    )
    line = capsys.readouterr().out
    assert code == 0 and "rows in 13 = out 3 + rejected 10" in line and "endpoint error: 4" in line
    # nothing listens there: every chunk is an endpoint error, and the command says it kept nothing
    code = rag_main(
        [
            "make-data",
            str(index_dir),
            "--out",
            str(out),
            "--base-url",
            "http://127.0.0.1:9/v1",
            "--model",
            "m",
            "--attempts",
            "1",
            "--cache-dir",
            "none",
        ]
    )
    err = capsys.readouterr().err
    assert code == 1 and err.startswith("error: make-data kept no pair (endpoint error)")
    code = rag_main(
        ["make-data", str(tmp_path / "nope"), "--out", str(out), "--base-url", double.base_url, "--model", "m"]
    )
    assert code == 2 and "no such directory" in capsys.readouterr().err


def test_grounding_rules():
    chunk = "서울의 인구는 2024년에 약 940만 명이었다."
    assert supported("약 940만 명", chunk) and supported("약940만명.", chunk)  # a span, spacing aside
    assert supported("2024년에 약 940만 명이었음", chunk)  # a high character overlap
    assert not supported("약 1000만 명", chunk)
    assert grounding_problem("인구는?", "약 940만 명", chunk, "docs/통계.pdf") is None
    assert grounding_problem("어느 도시?", "서울", chunk, "docs/서울-통계.pdf")[0] == "answerable from the title"
    assert (
        grounding_problem("서울의 인구 약 940만 명은?", "약 940만 명", chunk, "x.pdf")[0]
        == "answer given in the question"
    )
    assert parse_pairs('```json\n{"pairs": [{"question": "a", "answer": "b"}]}\n```') == [
        {"question": "a", "answer": "b"}
    ]
    assert parse_pairs("Q: 무엇?\nA: 이것") == [{"question": "무엇?", "answer": "이것"}]
    assert parse_pairs("no pairs here") is None


def test_an_endpoint_refusing_the_request_stops_with_one_line(index_dir, tmp_path):
    class Refusing(Double):
        def _handler(self):
            class H(BaseHTTPRequestHandler):
                def log_message(self, *args):
                    pass

                def do_POST(self):
                    body = b'{"error": {"message": "model m does not exist", "type": "invalid_request_error"}}'
                    self.send_response(404)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)

            return H

    d = Refusing()
    try:
        with pytest.raises(UserError, match=r"refused the request \(HTTP 404: .*check --model"):
            make_data(index_dir, tmp_path / "o.jsonl", endpoint(d, None), Options(), progress=False)
    finally:
        d.close()
