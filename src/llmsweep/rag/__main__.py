"""python -m llmsweep.rag {ingest,search,make-data} ...  (see --help of each command)."""

from __future__ import annotations

import argparse
import logging
import sys

from llmsweep.errors import UserError

EPILOG = """\
examples:
  python -m llmsweep.rag ingest docs/ manual.pdf notes.md --out index/ --chunk-size 500 --chunk-overlap 50
  python -m llmsweep.rag search index/ "서울의 인구는 얼마인가요?" --top-k 5
  python -m llmsweep.rag search index/ "서울의 인구는?" --retriever hybrid --model models/e5-small --weight 0.5
  python -m llmsweep.rag make-data index/ --out data/docqa.jsonl --base-url http://127.0.0.1:8000/v1 --model my-run
"""


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m llmsweep.rag",
        description="Korean documents -> chunks -> a retrieval index (Korean BM25 embedded; dense and hybrid).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = ap.add_subparsers(dest="command", required=True)
    p = sub.add_parser(
        "ingest",
        help="read, chunk and index documents (.pdf .txt .md .html)",
        description="Every page ends as chunks in INDEX/chunks.jsonl or in INDEX/rejects.jsonl with file, page and "
        "reason; the summary line gives pages in = chunked + rejected. Re-ingesting skips unchanged documents "
        "and replaces the chunks of changed ones.",
    )
    p.add_argument("docs", nargs="+", help="files or directories (walked for .pdf .txt .md .html .htm)")
    p.add_argument("--out", required=True, help="index directory (created, or updated in place)")
    p.add_argument("--chunk-size", type=int, help="chunk size (default 500; an existing index: its own)")
    p.add_argument("--chunk-overlap", type=int, help="overlap carried into the next chunk (default 50)")
    p.add_argument("--chunk-unit", choices=("chars", "tokens"), help="chars (default) or tokens (morphemes)")
    p.add_argument("--workers", type=int, default=2, help="processes reading documents in parallel (default 2)")
    q = sub.add_parser("search", help="query an index and print the hits")
    q.add_argument("index")
    q.add_argument("query")
    q.add_argument("--top-k", type=int, default=5)
    q.add_argument("--retriever", choices=("bm25", "dense", "hybrid"), default="bm25")
    q.add_argument("--model", help="dense/hybrid: a local embedding model directory")
    q.add_argument("--weight", type=float, default=0.5, help="hybrid: the dense share of the fusion (default 0.5)")
    d = sub.add_parser(
        "make-data",
        help="question/answer pairs per chunk from a chat endpoint -> grounded Dolly records",
        description="Asks an OpenAI-compatible endpoint (serve.py, vLLM, a hosted API) for question/answer pairs "
        "per chunk and keeps the grounded ones as Dolly closed_qa records (the chunk as context). Every proposed "
        "pair (or failed chunk) ends in OUT, OUT's held-out split or OUT.rejects.jsonl with its reason; "
        "OUT.summary.json holds the accounting (rows in = out + rejected). Train with train.py data.path=OUT; "
        "score a RAG pipeline with rag.py rag.qa=<the held-out file>.",
    )
    d.add_argument("index", help="an index directory built by ingest")
    d.add_argument("--out", required=True, help="output JSON Lines file of Dolly records")
    d.add_argument("--base-url", required=True, help="the endpoint, e.g. http://127.0.0.1:8000/v1")
    d.add_argument("--model", required=True, help="the model name the endpoint serves")
    d.add_argument(
        "--api-key-env",
        default="OPENAI_API_KEY",
        help="NAME of the environment variable holding the key (default OPENAI_API_KEY; never written)",
    )
    d.add_argument("--pairs", type=int, default=2, help="pairs asked per chunk (default 2)")
    d.add_argument("--heldout", type=float, default=0.2, help="share of chunks held out as a QA set (default 0.2)")
    d.add_argument("--max-chunks", type=int, help="a seeded sample of this many chunks (default: all)")
    d.add_argument("--seed", type=int, default=0)
    d.add_argument("--attempts", type=int, default=3, help="calls per chunk in all, with backoff (default 3)")
    d.add_argument("--timeout", type=float, default=60.0, help="seconds per call (default 60)")
    d.add_argument("--max-tokens", type=int, default=512)
    d.add_argument("--temperature", type=float, default=0.0)
    d.add_argument("--workers", type=int, default=1, help="calls in flight (default 1)")
    d.add_argument(
        "--cache-dir",
        default=None,
        help="reply cache root (default $LLMSWEEP_CACHE_DIR or ~/.cache/llmsweep; 'none': no cache)",
    )
    a = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one INFO line per request otherwise
    try:
        if a.command == "ingest":
            from llmsweep.rag import ChunkSettings, ingest

            given = {"size": a.chunk_size, "overlap": a.chunk_overlap, "unit": a.chunk_unit}
            chunk = (
                ChunkSettings(**{k: v for k, v in given.items() if v is not None})
                if any(v is not None for v in given.values())
                else None
            )
            s = ingest(a.docs, a.out, chunk, workers=a.workers)
            print(s.line(a.out))
            return 0
        if a.command == "make-data":
            return _make_data(a)
        from llmsweep.rag import retrieval

        if a.retriever != "bm25" and not a.model:
            raise UserError(f"--retriever {a.retriever} needs --model DIR (a local embedding model directory)")
        if a.retriever == "bm25":
            r = retrieval.BM25Retriever(a.index, a.top_k)
        elif a.retriever == "dense":
            r = retrieval.DenseRetriever(a.index, a.model, a.top_k)
        else:
            r = retrieval.HybridRetriever(a.index, a.model, a.top_k, a.weight)
        hits = r.search(a.query)
        for rank, h in enumerate(hits, 1):
            text = h.text.replace("\n", " / ")
            print(f"{rank}. {h.score:.4f}  {h.doc} p.{h.page}  {h.chunk_id}\n   {text[:200]}")
        if not hits:
            print("no hits (no query term is in the index)")
        return 0
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


def _make_data(a) -> int:
    import os

    from llmsweep.rag.endpoint import ChatEndpoint
    from llmsweep.rag.makedata import PROMPT_VERSION, Options, make_data, summary_line

    cache = a.cache_dir or os.environ.get("LLMSWEEP_CACHE_DIR") or "~/.cache/llmsweep"
    endpoint = ChatEndpoint(
        a.base_url,
        a.model,
        api_key_env=a.api_key_env,
        timeout_s=a.timeout,
        attempts=a.attempts,
        max_tokens=a.max_tokens,
        temperature=a.temperature,
        cache_dir=None if cache == "none" else cache,
        prompt_version=PROMPT_VERSION,
    )
    opts = Options(pairs=a.pairs, heldout=a.heldout, max_chunks=a.max_chunks, seed=a.seed, workers=a.workers)
    s = make_data(a.index, a.out, endpoint, opts)
    print(summary_line(s))
    if s["rows_out"] == 0:
        reasons = ", ".join(s["rejected_by_reason"]) or "no chunks"
        print(f"error: make-data kept no pair ({reasons}); see {s['rejects']}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
