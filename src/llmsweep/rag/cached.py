"""Index builds shared by runs: keyed by (the documents' names and content hashes, chunk settings, analyser),
so sweep trials that share chunk settings share one index, built once even when they start together."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from llmsweep.cache import build_once
from llmsweep.rag.chunking import ChunkSettings
from llmsweep.rag.index import FORMAT, Index, analyser_version, ingest, input_files, sha256_file


def index_key(inputs: list[str | Path], chunk: ChunkSettings) -> str:
    docs = sorted((name, sha256_file(path)) for name, path in input_files(inputs))
    blob = json.dumps([FORMAT, analyser_version(), chunk.as_dict(), docs])
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def cached_index(inputs: list[str | Path], chunk: ChunkSettings, cache_dir: str | Path) -> Index:
    """The index of `inputs` under `chunk`, from CACHE_DIR/rag-index/<key>/ (built there on first use)."""
    target = Path(cache_dir).expanduser() / "rag-index" / index_key(inputs, chunk)
    build_once(lambda d: ingest(inputs, d, chunk, progress=False), target)
    return Index.open(target, chunk)
