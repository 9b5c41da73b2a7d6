"""The on-disk index: chunks, rejects and Korean BM25 in one directory, built and updated by `ingest`.

    INDEX/index.json     format, chunk settings, analyser version, one entry per document (content hash, pages,
                         chunk count, its rejects)
    INDEX/chunks.jsonl   {"id", "doc", "page", "text", "terms"}: the chunks in document order
    INDEX/rejects.jsonl  {"file", "page", "reason", "detail"}: every page that gave no chunk
    INDEX/bm25/          bm25s over the chunks' kiwipiepy morphemes
    INDEX/dense/KEY/     a faiss index per embedding model (built on first dense search, see dense.py)

Re-ingesting: a document whose content hash is unchanged is skipped, a changed one has its chunks replaced,
documents not named stay. Chunk ids are `<content hash>-p<page>-c<n>`: stable while the document and the chunk
settings are.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from llmsweep.errors import UserError
from llmsweep.rag import documents
from llmsweep.rag.bm25 import BM25
from llmsweep.rag.chunking import ChunkSettings, chunk_blocks

log = logging.getLogger(__name__)

FORMAT = 1
META, CHUNKS, REJECTS, BM25_DIR = "index.json", "chunks.jsonl", "rejects.jsonl", "bm25"


def analyser_version() -> str:
    from importlib.metadata import version

    return f"kiwipiepy {version('kiwipiepy')}"


@dataclass(frozen=True)
class Hit:
    doc: str
    page: int
    chunk_id: str
    text: str
    score: float

    def source(self) -> dict:
        """What an answer cites: everything but the text."""
        return {"doc": self.doc, "page": self.page, "chunk_id": self.chunk_id, "score": self.score}


@dataclass
class Summary:
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    pages_in: int = 0
    pages_chunked: int = 0
    rejected: Counter = field(default_factory=Counter)
    chunks: int = 0
    total_docs: int = 0
    total_chunks: int = 0
    seconds: float = 0.0

    @property
    def pages_rejected(self) -> int:
        return sum(self.rejected.values())

    def line(self, out: Path) -> str:
        reasons = ", ".join(f"{r} {n}" for r, n in sorted(self.rejected.items()))
        docs = self.new + self.changed + self.unchanged
        return (
            f"ingest: {docs} documents ({self.new} new, {self.changed} changed, {self.unchanged} unchanged skipped); "
            f"pages in {self.pages_in} = chunked {self.pages_chunked} + rejected {self.pages_rejected}"
            + (f" ({reasons})" if reasons else "")
            + f"; {self.chunks} chunks written; {out}: {self.total_docs} documents, {self.total_chunks} chunks"
        )


def input_files(inputs: list[str | Path]) -> list[tuple[str, Path]]:
    """(document name, path) for files and directories (walked for supported suffixes). A directory's documents
    are named by their path from the directory's parent (`docs/a/x.pdf`), a file by its name."""
    files: list[tuple[str, Path]] = []
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            found = sorted(q for q in p.rglob("*") if q.suffix.lower() in documents.SUFFIXES and q.is_file())
            if not found:
                raise UserError(f"{p}: no {', '.join(documents.SUFFIXES)} files in this directory")
            files += [(q.relative_to(p.parent).as_posix(), q) for q in found]
        elif p.is_file():
            files.append((p.name, p))
        else:
            raise UserError(f"{p}: no such file or directory")
    names = Counter(name for name, _ in files)
    twice = [n for n, c in names.items() if c > 1]
    if twice:
        raise UserError(f"two inputs are both named {twice[0]!r}: pass their directory instead, so their paths differ")
    return files


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _read_meta(out: Path) -> dict | None:
    meta = out / META
    if not meta.is_file():
        return None
    try:
        data = json.loads(meta.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise UserError(f"{meta}: unreadable index metadata ({e}): ingest into a new --out directory") from None
    if data.get("format") != FORMAT:
        raise UserError(f"{out}: index format {data.get('format')} is not {FORMAT}: ingest into a new --out directory")
    return data


def _check_settings(out: Path, meta: dict, chunk: ChunkSettings) -> None:
    built = ChunkSettings(**meta["chunk"])
    if built != chunk:
        raise UserError(
            f"{out} was built with {built.describe()}, but {chunk.describe()} was asked: "
            "ingest into another --out directory, or ask for the index's settings"
        )


def _write_jsonl(path: Path, rows) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    os.replace(tmp, path)


def _read_chunks(out: Path) -> list[dict]:
    path = out / CHUNKS
    if not path.is_file():
        return []
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def ingest(
    inputs: list[str | Path],
    out: str | Path,
    chunk: ChunkSettings | None = None,
    progress: bool | None = None,
    workers: int = 1,
) -> Summary:
    """Read, chunk and index documents into `out` (created, or updated in place). Returns the accounting.
    `chunk` None: the existing index's settings, or the defaults for a new one. `workers` > 1 reads documents
    in that many processes (one document per task; each process loads the analyser once, ~3 s)."""
    import time

    from tqdm import tqdm

    started = time.perf_counter()
    out = Path(out)
    files = input_files(inputs)
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out}: is a file, not an index directory: choose a directory path")
    meta = _read_meta(out) if out.is_dir() else None
    if meta is None:
        if out.is_dir() and any(out.iterdir()):
            raise UserError(
                f"--out {out}: directory exists and is not an index (no {META}): choose a new or empty directory"
            )
        chunk = chunk or ChunkSettings()
        meta = {"format": FORMAT, "chunk": chunk.as_dict(), "analyser": analyser_version(), "documents": {}}
    elif chunk is None:
        chunk = ChunkSettings(**meta["chunk"])
    else:
        _check_settings(out, meta, chunk)
    old_docs: dict = meta["documents"]
    s = Summary()
    todo = []
    for name, path in files:
        digest = sha256_file(path) if path.is_file() else ""
        prev = old_docs.get(name)
        if prev and prev["sha256"] == digest:
            s.unchanged += 1
        else:
            todo.append((name, path, digest, prev is not None))
    new_chunks: dict[str, list[dict]] = {}
    new_entries: dict[str, dict] = {}
    bar = tqdm(total=len(todo), unit="doc", desc="ingest", disable=None if progress is None else not progress)
    for (name, _, _, existed), (entry, chunks) in zip(todo, _read_all(todo, chunk, workers)):
        new_entries[name], new_chunks[name] = entry, chunks
        s.changed += existed
        s.new += not existed
        s.pages_in += entry["pages"]
        s.pages_chunked += entry["pages"] - len(entry["rejects"])
        s.rejected.update(r["reason"] for r in entry["rejects"])
        s.chunks += len(chunks)
        bar.update(1)
        bar.set_postfix(pages=s.pages_in, chunks=s.chunks)
    bar.close()
    if todo or not (out / META).is_file():
        _write_index(out, meta, new_entries, new_chunks, progress)
    meta = _read_meta(out)
    s.total_docs = len(meta["documents"])
    s.total_chunks = sum(d["chunks"] for d in meta["documents"].values())
    s.seconds = time.perf_counter() - started
    return s


def _read_all(todo: list, chunk: ChunkSettings, workers: int):
    """(entry, chunks) per document, in input order."""
    tasks = [(name, path, digest, chunk) for name, path, digest, _ in todo]
    if workers <= 1 or len(tasks) <= 1:
        yield from (_ingest_one(*t) for t in tasks)
        return
    import multiprocessing as mp

    # spawn: a forked copy of a loaded analyser (native threads) is not safe
    with mp.get_context("spawn").Pool(min(workers, len(tasks))) as pool:
        yield from pool.imap(_ingest_task, tasks)


def _ingest_task(task: tuple) -> tuple[dict, list[dict]]:
    return _ingest_one(*task)


def _ingest_one(name: str, path: Path, digest: str, chunk: ChunkSettings) -> tuple[dict, list[dict]]:
    entry = {"sha256": digest, "pages": 0, "chunks": 0, "rejects": []}
    chunks: list[dict] = []
    try:
        pages = documents.read_pages(path)
    except documents.DocumentError as e:
        entry["pages"] = 1  # a file that cannot be opened counts as one page in, rejected
        entry["rejects"].append({"file": name, "page": None, "reason": e.reason, "detail": e.detail})
        return entry, chunks
    entry["pages"] = len(pages)
    for page in pages:
        pieces = [] if page.reject else chunk_blocks(page.blocks, chunk)
        if not pieces:
            entry["rejects"].append(
                {"file": name, "page": page.number, "reason": page.reject or documents.EMPTY, "detail": ""}
            )
            continue
        for n, c in enumerate(pieces):
            chunks.append(
                {
                    "id": f"{digest[:12]}-p{page.number}-c{n}",
                    "doc": name,
                    "page": page.number,
                    "text": c.text,
                    "terms": list(c.terms),
                }
            )
    entry["chunks"] = len(chunks)
    return entry, chunks


def _write_index(out: Path, meta: dict, new_entries: dict, new_chunks: dict, progress: bool | None) -> None:
    """chunks.jsonl, rejects.jsonl, bm25/ and last index.json (so a crash leaves the old index.json, which then
    names documents to re-read)."""
    out.mkdir(parents=True, exist_ok=True)
    kept = [c for c in _read_chunks(out) if c["doc"] not in new_entries]
    docs = {**{k: v for k, v in meta["documents"].items() if k not in new_entries}, **new_entries}
    order = {name: i for i, name in enumerate(sorted(docs))}
    chunks = sorted(kept + [c for cs in new_chunks.values() for c in cs], key=lambda c: order[c["doc"]])
    if not chunks:
        raise UserError(f"{out}: no document gave any chunk (see {out / REJECTS} once fixed): nothing to index")
    _write_jsonl(out / CHUNKS, chunks)
    _write_jsonl(out / REJECTS, [r for name in sorted(docs) for r in docs[name]["rejects"]])
    tmp = out / (BM25_DIR + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    BM25.build([c["terms"] for c in chunks], show_progress=bool(progress) and len(chunks) > 10_000).save(tmp)
    shutil.rmtree(out / BM25_DIR, ignore_errors=True)
    os.replace(tmp, out / BM25_DIR)
    fingerprint = hashlib.sha256("\n".join(c["id"] for c in chunks).encode()).hexdigest()[:16]
    meta = {**meta, "documents": docs, "fingerprint": fingerprint}
    tmp_meta = out / (META + ".tmp")
    tmp_meta.write_text(json.dumps(meta, indent=1, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp_meta, out / META)


class Index:
    """A built index, opened read-only: `Index.open(dir).search(query, top_k)` is Korean BM25."""

    def __init__(self, root: Path, meta: dict, chunks: list[dict], bm25: BM25):
        self.root, self.meta, self.chunks, self.bm25 = root, meta, chunks, bm25
        self._dense: dict = {}

    @classmethod
    def open(cls, root: str | Path, chunk: ChunkSettings | None = None) -> Index:
        """Open INDEX; with `chunk`, an index built with other chunk settings is an error."""
        root = Path(root)
        if not root.is_dir():
            raise UserError(
                f"rag index {root}: no such directory: build it with python -m llmsweep.rag ingest DOCS --out {root}"
            )
        meta = _read_meta(root)
        if meta is None or not (root / BM25_DIR).is_dir():
            raise UserError(
                f"rag index {root}: not an index (no {META} or {BM25_DIR}/): "
                "build it with python -m llmsweep.rag ingest DOCS --out DIR"
            )
        if chunk is not None:
            _check_settings(root, meta, chunk)
        return cls(root, meta, _read_chunks(root), BM25.load(root / BM25_DIR))

    @property
    def chunk_settings(self) -> ChunkSettings:
        return ChunkSettings(**self.meta["chunk"])

    def __len__(self) -> int:
        return len(self.chunks)

    def hit(self, row: int, score: float) -> Hit:
        c = self.chunks[row]
        return Hit(c["doc"], c["page"], c["id"], c["text"], score)

    def search(self, query: str, top_k: int = 5) -> list[Hit]:
        """Korean BM25: the query's morphemes against the chunks'."""
        from llmsweep.rag.korean import terms

        return [self.hit(r, s) for r, s in self.bm25.top(terms(query), top_k)]

    def dense(self, model: str | Path):
        """The dense (faiss) index of this index's chunks under the local embedding model `model`, built once."""
        from llmsweep.rag.dense import DenseIndex

        key = str(model)
        if key not in self._dense:
            self._dense[key] = DenseIndex.for_index(self, Path(model))
        return self._dense[key]
