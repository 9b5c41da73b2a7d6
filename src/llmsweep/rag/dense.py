"""Dense retrieval: a local sentence-transformers model embeds the chunks into a faiss index kept in
INDEX/dense/<key>/, key = (model files, the index's chunks). Built once, shared by every run on that index;
local model directories only (no hub download)."""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

import numpy as np

from llmsweep.cache import build_once
from llmsweep.errors import UserError

log = logging.getLogger(__name__)

_WEIGHTS = (".safetensors", ".bin", ".json", ".txt", ".model")


def model_key(model: Path) -> str:
    """The model's identity without reading gigabytes: its config files' bytes, its weights' names and sizes."""
    h = hashlib.sha256()
    for f in sorted(p for p in model.rglob("*") if p.is_file() and p.suffix in _WEIGHTS):
        h.update(f.relative_to(model).as_posix().encode())
        h.update(f.read_bytes() if f.suffix == ".json" else str(f.stat().st_size).encode())
    return h.hexdigest()[:16]


def load_encoder(model: Path):
    if not model.is_dir():
        raise UserError(
            f"retriever.model={model}: not a local directory. Dense retrieval loads a local sentence-transformers "
            "(or transformers) model dir only: download it once and give its path"
        )
    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(max(1, min(torch.get_num_threads(), 2)))
    try:
        return SentenceTransformer(str(model), device="cpu", local_files_only=True)
    except (OSError, ValueError) as e:
        raise UserError(f"retriever.model={model}: not a loadable embedding model ({str(e).splitlines()[0]})") from None


class DenseIndex:
    def __init__(self, index, encoder, faiss_index):
        self.index, self.encoder, self.faiss = index, encoder, faiss_index

    @classmethod
    def for_index(cls, index, model: Path) -> DenseIndex:
        import faiss

        model = model.expanduser().resolve()
        encoder = load_encoder(model)
        key = f"{model_key(model)}-{index.meta['fingerprint']}"

        def build(d: Path) -> None:
            texts = [c["text"] for c in index.chunks]
            log.info("embedding %d chunks with %s (once; kept in %s)", len(texts), model, d.parent)
            vectors = encoder.encode(
                texts, batch_size=32, normalize_embeddings=True, show_progress_bar=len(texts) > 256
            )
            flat = faiss.IndexFlatIP(vectors.shape[1])  # inner product of unit vectors = cosine
            flat.add(np.ascontiguousarray(vectors, dtype=np.float32))
            faiss.write_index(flat, str(d / "faiss.index"))
            (d / "meta.json").write_text(json.dumps({"model": str(model), "chunks": len(texts)}), encoding="utf-8")

        directory = build_once(build, index.root / "dense" / key)
        return cls(index, encoder, faiss.read_index(str(directory / "faiss.index")))

    def top(self, query: str, k: int) -> list[tuple[int, float]]:
        k = min(k, self.faiss.ntotal)
        if k < 1:
            return []
        q = self.encoder.encode([query], normalize_embeddings=True, show_progress_bar=False)
        scores, rows = self.faiss.search(np.ascontiguousarray(q, dtype=np.float32), k)
        return [(int(r), float(s)) for r, s in zip(rows[0], scores[0]) if r >= 0]
