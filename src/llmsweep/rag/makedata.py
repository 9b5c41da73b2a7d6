"""make-data: an index's chunks -> question/answer pairs written by a chat endpoint -> grounded Dolly records.

Accounting as the data pipeline's (`llmsweep.data.prepare`): a row is one proposed pair, or one chunk whose call
failed or whose reply held no pair; every row ends in OUT (or the held-out split) or in OUT.rejects.jsonl with
its reason, and OUT.summary.json says rows in = out + rejected. The grounding checks are in `rag.qa`.

    OUT                  Dolly records (closed_qa, the chunk as context): `train.py data.path=OUT`
    OUT.heldout          the chunks held out (`--heldout`, by chunk): Dolly fields + doc, page, chunk_id, so
                         `rag.py rag.qa=...` scores retrieval against them and the model never trained on them
    OUT.rejects.jsonl    {"source", "where", "reason", "detail", "row"}
    OUT.summary.json     the accounting
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import re
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from llmsweep.data.records import dolly_problem
from llmsweep.errors import UserError
from llmsweep.rag.endpoint import ChatEndpoint, EndpointError
from llmsweep.rag.qa import MIN_OVERLAP, grounding_problem, question_key

log = logging.getLogger(__name__)

PROMPT_VERSION = "docqa-1"  # part of the cache key: change it whenever PROMPT changes
PROMPT = """다음 문서 조각만 읽고 답할 수 있는 질문과 답을 {n}개 만드세요.
- 답은 문서 조각에 있는 표현 그대로, 짧게 쓰세요.
- 문서 제목만 보고는 답할 수 없는 질문이어야 합니다.
- 다른 말 없이 JSON 배열 하나로만 답하세요: [{{"question": "...", "answer": "..."}}]

문서: {title}
문서 조각:
{chunk}"""


@dataclass(frozen=True)
class Options:
    pairs: int = 2  # pairs asked per chunk
    heldout: float = 0.2  # share of chunks whose pairs go to the held-out QA split
    max_chunks: int | None = None  # a seeded sample of the index's chunks (None: all)
    seed: int = 0
    min_overlap: float = MIN_OVERLAP
    workers: int = 1  # calls in flight (a hosted API or vLLM takes several; serve.py runs one at a time)


def messages_for(chunk: dict, pairs: int) -> list[dict]:
    from llmsweep.rag.qa import title_of

    return [{"role": "user", "content": PROMPT.format(n=pairs, title=title_of(chunk["doc"]), chunk=chunk["text"])}]


_JSON = re.compile(r"\[.*\]|\{.*\}", re.S)
_QA_LINE = re.compile(r"^\s*(?:\d+[.)]\s*)?(질문|Q|답변|답|A)\s*[:：]\s*(.+?)\s*$", re.I | re.M)


def parse_pairs(reply: str) -> list[dict] | None:
    """[{"question", "answer"}] from a reply: a JSON array (or {"pairs": [...]}) anywhere in it, else
    `질문:`/`Q:` and `답:`/`A:` lines. None: nothing of either shape."""
    m = _JSON.search(reply)
    if m:
        try:
            data = json.loads(m.group(0))
        except json.JSONDecodeError:
            data = None
        if isinstance(data, dict):
            data = data.get("pairs", [data])
        if isinstance(data, list) and data and all(isinstance(d, dict) for d in data):
            return [{"question": str(d.get("question", "")), "answer": str(d.get("answer", ""))} for d in data]
    pairs, q = [], None
    for kind, text in _QA_LINE.findall(reply):
        if kind.lower() in ("질문", "q"):
            q = text
        elif q is not None:
            pairs.append({"question": q, "answer": text})
            q = None
    return pairs or None


def _held_out(chunk_id: str, seed: int, share: float) -> bool:
    h = hashlib.sha256(f"{seed}:{chunk_id}".encode()).digest()
    return int.from_bytes(h[:8], "big") / 2**64 < share


def heldout_path(out: Path) -> Path:
    return out.with_name(out.stem + ".heldout" + (out.suffix or ".jsonl"))


def make_data(
    index_dir: str | Path,
    out: str | Path,
    endpoint: ChatEndpoint,
    opts: Options = Options(),
    progress: bool | None = None,
) -> dict:
    from tqdm import tqdm

    from llmsweep.rag.index import Index

    if opts.pairs < 1 or not 0.0 <= opts.heldout < 1.0:
        raise UserError(f"--pairs {opts.pairs} --heldout {opts.heldout}: need pairs >= 1 and 0 <= heldout < 1")
    index = Index.open(index_dir)
    chunks = list(index.chunks)
    if opts.max_chunks is not None and opts.max_chunks < len(chunks):
        keep = sorted(random.Random(opts.seed).sample(range(len(chunks)), opts.max_chunks))
        chunks = [chunks[i] for i in keep]
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    paths = {"output": out, "heldout": heldout_path(out), "rejects": out.with_name(out.name + ".rejects.jsonl")}
    rejected: Counter = Counter()
    counts = {"rows_in": 0, "train": 0, "heldout": 0, "cached": 0, "asked": 0}
    seen: set[str] = set()

    def fetch(chunk: dict):
        msgs = messages_for(chunk, opts.pairs)
        reply = endpoint.cached(msgs)
        if reply is not None:
            return reply, True, None
        try:
            reply = endpoint.ask(msgs)
        except EndpointError as e:
            return None, False, str(e)
        return reply, False, None

    files = {k: open(p, "w", encoding="utf-8") for k, p in paths.items()}
    bar = tqdm(total=len(chunks), unit="chunk", desc="make-data", disable=None if progress is None else not progress)
    try:

        def reject(where: str, reason: str, detail: str, row) -> None:
            counts["rows_in"] += 1
            rejected[reason] += 1
            rec = {"source": str(index_dir), "where": where, "reason": reason, "detail": detail, "row": row}
            files["rejects"].write(json.dumps(rec, ensure_ascii=False) + "\n")

        with ThreadPoolExecutor(max(1, opts.workers)) as pool:
            for chunk, (reply, cached, error) in zip(chunks, pool.map(fetch, chunks), strict=True):
                where = chunk["id"]
                counts["cached" if cached else "asked"] += 1
                pairs = None if reply is None else parse_pairs(reply)
                if reply is None:
                    reject(where, "endpoint error", error, {"chunk_id": where})
                elif pairs is None:
                    reject(
                        where,
                        "unparsable reply",
                        "no JSON array of {question, answer} nor 질문:/답: lines",
                        {"chunk_id": where, "reply": reply},
                    )
                else:
                    if not cached:
                        endpoint.remember(messages_for(chunk, opts.pairs), reply)
                    split = "heldout" if _held_out(where, opts.seed, opts.heldout) else "train"
                    for n, pair in enumerate(pairs):
                        q, a = pair["question"].strip(), pair["answer"].strip()
                        at, row = f"{where}#{n}", {"chunk_id": where, **pair}
                        why = grounding_problem(q, a, chunk["text"], chunk["doc"], opts.min_overlap)
                        if why is None and question_key(q) in seen:
                            why = ("duplicate question", "")
                        rec = {"instruction": q, "context": chunk["text"], "response": a, "category": "closed_qa"}
                        if why is None and (problem := dolly_problem(rec)) is not None:
                            why = ("invalid record", problem)
                        if why is not None:
                            reject(at, *why, row)
                            continue
                        seen.add(question_key(q))
                        counts["rows_in"] += 1
                        counts[split] += 1
                        if split == "heldout":
                            rec = {**rec, "doc": chunk["doc"], "page": chunk["page"], "chunk_id": where}
                        files[split if split == "heldout" else "output"].write(
                            json.dumps(rec, ensure_ascii=False) + "\n"
                        )
                bar.update(1)
                bar.set_postfix(kept=counts["train"] + counts["heldout"], rejected=sum(rejected.values()))
    finally:
        bar.close()
        for f in files.values():
            f.close()
    rows_out = counts["train"] + counts["heldout"]
    n_rejected = sum(rejected.values())
    assert counts["rows_in"] == rows_out + n_rejected, "accounting identity broken"
    summary = {
        "source": str(index_dir),
        "endpoint": endpoint.base_url,
        "model": endpoint.model,
        "prompt_version": PROMPT_VERSION,
        "chunks": len(chunks),
        "calls": counts["asked"],
        "cached_replies": counts["cached"],
        "rows_in": counts["rows_in"],
        "rows_out": rows_out,
        "rows_rejected": n_rejected,
        "rejected_by_reason": dict(rejected.most_common()),
        "records_written": counts["train"],
        "heldout_written": counts["heldout"],
        "output": str(paths["output"]),
        "heldout": str(paths["heldout"]),
        "rejects": str(paths["rejects"]),
        "options": opts.__dict__,
    }
    summary_file = out.with_name(out.name + ".summary.json")
    summary_file.write_text(json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8")
    return summary


def summary_line(s: dict) -> str:
    reasons = ", ".join(f"{k}: {v}" for k, v in s["rejected_by_reason"].items())
    return (
        f"make-data: {s['chunks']} chunks ({s['calls']} calls, {s['cached_replies']} cached); rows in "
        f"{s['rows_in']} = out {s['rows_out']} + rejected {s['rows_rejected']}"
        + (f" ({reasons})" if reasons else "")
        + f"; {s['records_written']} records -> {s['output']}, {s['heldout_written']} held out -> {s['heldout']}; "
        f"rejects in {s['rejects']}"
    )
