"""RAG against the real serve.py (uvicorn in a subprocess) over a tiny local run, driven by the real openai client:
make-data asking it for QA pairs, and `serve.py rag.index=` answering with retrieved context and its sources.

The run is a tiny full fine-tune that memorised make-data's reply for two chunks (one grounded pair, one not):
greedy decoding then writes those replies through the real server, and noise for the third chunk."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("kiwipiepy")

from helpers import REPO, chat_server, read_jsonl, run_cli
from llmsweep.rag import ChunkSettings, Index, ingest
from llmsweep.rag.__main__ import main as rag_main
from llmsweep.rag.makedata import messages_for

PAGES = ["서울의 인구는 약 940만 명이다.", "부산에는 해운대 해수욕장이 있다.", "대구는 여름이 덥다."]
REPLIES = [
    [{"question": "서울의 인구는?", "answer": "약 940만 명"}],  # grounded: kept
    [{"question": "해운대 해수욕장은 어디에?", "answer": "제주"}],  # not in its chunk: rejected
]


@pytest.fixture(scope="module")
def docqa_run(cache_dir, tmp_path_factory) -> tuple[Path, Path]:
    """(index dir, run dir): three one-sentence pages, and a run trained on make-data's prompts of the first two."""
    d = tmp_path_factory.mktemp("ragserve")
    (d / "도시.txt").write_text("\f".join(PAGES), encoding="utf-8")
    ingest([d / "도시.txt"], d / "index", ChunkSettings(500, 50), progress=False)
    chunks = Index.open(d / "index").chunks
    with open(d / "train.jsonl", "w", encoding="utf-8") as f:
        for chunk, reply in zip(chunks, REPLIES, strict=False):  # the third chunk: not trained
            rec = {
                "instruction": messages_for(chunk, 2)[0]["content"],
                "context": "",
                "response": json.dumps(reply, ensure_ascii=False),
                "category": "open_qa",
            }
            f.writelines([json.dumps(rec, ensure_ascii=False) + "\n"] * 8)
    run_cli(
        cache_dir,
        "model=mistral",
        "method=full",
        f"data.path={d / 'train.jsonl'}",
        "data.eval_size=1",
        "tracking=none",
        "judge=none",
        "trainer.max_steps=60",
        "trainer.eval_steps=60",
        "generate.num_prompts=1",
        out=d / "run",
    )
    return d / "index", d / "run"


def test_make_data_against_the_real_server_keeps_grounded_pairs_and_rejects_the_rest(docqa_run, tmp_path, capsys):
    index, run = docqa_run
    out = tmp_path / "docqa.jsonl"
    with chat_server(run) as server:
        code = rag_main(
            [
                "make-data",
                str(index),
                "--out",
                str(out),
                "--base-url",
                server.base_url,
                "--model",
                server.model,
                "--heldout",
                "0",
                "--max-tokens",
                "64",
                "--cache-dir",
                str(tmp_path / "cache"),
            ]
        )
    assert code == 0, capsys.readouterr().err
    assert read_jsonl(out) == [
        {"instruction": "서울의 인구는?", "context": PAGES[0], "response": "약 940만 명", "category": "closed_qa"}
    ]
    rejects = read_jsonl(out.with_name(out.name + ".rejects.jsonl"))
    reasons = {r["where"].split("-")[1]: r["reason"] for r in rejects}
    assert reasons["p2"] == "answer not in chunk"
    assert reasons["p3"] in ("unparsable reply", "answer not in chunk")  # noise, or a memorised reply misplaced
    summary = json.loads(out.with_name(out.name + ".summary.json").read_text(encoding="utf-8"))
    assert summary["rows_in"] == summary["rows_out"] + summary["rows_rejected"] == 1 + len(rejects)
    # the records train as they are
    from llmsweep.data.records import read_jsonl as read_records

    assert len(list(read_records(str(out), "dolly"))) == 1


def _prompt_tokens(run: Path, messages: list[dict]) -> int:
    from transformers import AutoTokenizer

    from llmsweep.generation import chat_batch
    from llmsweep.models.tokenizer import ensure_chat_ready

    tok = AutoTokenizer.from_pretrained(str(run / "model"))
    ensure_chat_ready(tok)
    return int(chat_batch(tok, [messages], "cpu")["input_ids"].shape[1])


def test_serve_with_rag_index_returns_sources_streamed_and_not(docqa_run):
    from llmsweep.rag.prompting import TEMPLATES, augment

    index, run = docqa_run
    question = [{"role": "user", "content": "해운대 해수욕장은 어느 도시에 있나?"}]
    with chat_server(run, f"rag.index={index}", "rag.top_k=2") as server:
        client = server.client()
        done = client.chat.completions.create(model=server.model, messages=question, max_tokens=4, temperature=0)
        sources = done.model_extra["sources"]
        assert sources and sources[0]["doc"] == "도시.txt" and sources[0]["page"] == 2 and len(sources) <= 2
        assert set(sources[0]) == {"doc", "page", "chunk_id", "score"} and sources[0]["score"] > 0
        # the prompt the model saw is the template around the retrieved chunks
        index_ = Index.open(index)
        hits = [
            index_.hit(next(i for i, c in enumerate(index_.chunks) if c["id"] == s["chunk_id"]), s["score"])
            for s in sources
        ]
        assert done.usage.prompt_tokens == _prompt_tokens(run, augment(question, hits, TEMPLATES["grounded"]))
        chunks = list(
            client.chat.completions.create(
                model=server.model, messages=question, max_tokens=4, temperature=0, stream=True
            )
        )
        assert chunks[0].model_extra["sources"] == sources
        assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == done.choices[0].message.content
    with chat_server(run) as plain:  # without rag.index nothing changes
        done = plain.client().chat.completions.create(model=plain.model, messages=question, max_tokens=4)
        assert "sources" not in (done.model_extra or {})
        assert done.usage.prompt_tokens == _prompt_tokens(run, question)


def test_serve_with_a_missing_index_is_one_line(docqa_run, tmp_path):
    _, run = docqa_run
    proc = subprocess.run(
        [sys.executable, "serve.py", f"run_dir={run}", f"rag.index={tmp_path / 'none'}"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2 and proc.stderr.strip().splitlines()[-1].startswith("error: rag index ")
    assert "Traceback" not in proc.stderr
