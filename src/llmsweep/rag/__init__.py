"""RAG: documents -> chunks -> index (Korean BM25, dense, hybrid). See README.md beside this file.

from llmsweep.rag import Index, ChunkSettings, ingest, cached_index
ingest(["docs/"], "index/", ChunkSettings(size=500, overlap=50))
Index.open("index/").search("서울의 인구는?", top_k=5)   # [Hit(doc, page, chunk_id, text, score)]
"""

from llmsweep.rag.cached import cached_index
from llmsweep.rag.chunking import ChunkSettings
from llmsweep.rag.index import Hit, Index, Summary, ingest

__all__ = ["ChunkSettings", "Hit", "Index", "Summary", "cached_index", "ingest"]
