"""RAG: documents -> chunks -> index (Korean BM25, dense, hybrid). See README.md beside this file.

from llmsweep.rag import Index, ChunkSettings, ingest, cached_index
ingest(["docs/"], "index/", ChunkSettings(size=500, overlap=50))
Index.open("index/").search("서울의 인구는?", top_k=5)   # [Hit(doc, page, chunk_id, text, score)]
"""

from __future__ import annotations

import importlib

# imported on first use, so `llmsweep.rag.config` (read by every app's schema registration) stays light
_EXPORTS = {
    "cached_index": "cached",
    "ChunkSettings": "chunking",
    "Hit": "index",
    "Index": "index",
    "Summary": "index",
    "ingest": "index",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"llmsweep.rag.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'llmsweep.rag' has no attribute {name!r}")
