"""Dense and hybrid retrieval with a tiny embedding model built here from a config (no hub download): a BERT
of random weights and a WordPiece tokenizer trained on the chunks. Its embeddings mean nothing; the tests
check the mechanics: the faiss index on disk, built once, and the fusion's weight."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("faiss")
pytest.importorskip("sentence_transformers")

from llmsweep.rag import Index, ingest
from llmsweep.rag.retrieval import BM25Retriever, DenseRetriever, HybridRetriever, rrf

TEXTS = [
    "서울은 대한민국의 수도이다.",
    "부산은 남쪽의 항구 도시이다.",
    "대구는 분지 지형이라 여름이 덥다.",
    "인천에는 큰 국제공항이 있다.",
    "광주는 빛고을이라 불린다.",
    "대전은 과학 도시로 알려져 있다.",
    "울산은 자동차 공업이 발달했다.",
    "제주도는 화산섬이며 한라산이 있다.",
]


def tiny_embedder(d: Path, texts: list[str]) -> Path:
    import torch
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tok.train_from_iterator(
        texts, trainers.WordPieceTrainer(vocab_size=300, special_tokens=specials, show_progress=False)
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
    )
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(fast),
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
    )
    BertModel(config).save_pretrained(d)
    fast.save_pretrained(d)
    return d


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("dense")
    (root / "cities.txt").write_text("\f".join(TEXTS), encoding="utf-8")
    ingest([root / "cities.txt"], root / "idx", progress=False)
    return Index.open(root / "idx"), tiny_embedder(root / "embedder", TEXTS)


def test_dense_index_is_built_once_on_disk(setup):
    index, model = setup
    hits = DenseRetriever(index, str(model), top_k=3).search("서울의 인구는?")
    assert len(hits) == 3 and len({h.chunk_id for h in hits}) == 3
    assert all(h.text == index.chunks[[c["id"] for c in index.chunks].index(h.chunk_id)]["text"] for h in hits)
    built = list((index.root / "dense").glob("*/faiss.index"))
    assert len(built) == 1
    stamp = built[0].stat().st_mtime_ns
    again = DenseRetriever(Index.open(index.root), str(model), top_k=3).search("서울의 인구는?")
    assert [h.chunk_id for h in again] == [h.chunk_id for h in hits]
    assert list((index.root / "dense").glob("*/faiss.index")) == built and built[0].stat().st_mtime_ns == stamp


def test_hybrid_weight_moves_between_bm25_and_dense(setup):
    index, model = setup
    query = "부산은 항구 도시인가?"
    sparse = [h.chunk_id for h in BM25Retriever(index, 2).search(query)]
    dense = [h.chunk_id for h in DenseRetriever(index, str(model), top_k=len(TEXTS)).search(query)]
    assert [h.chunk_id for h in HybridRetriever(index, str(model), top_k=2, weight=0.0).search(query)] == sparse
    assert [h.chunk_id for h in HybridRetriever(index, str(model), top_k=len(TEXTS), weight=1.0).search(query)] == dense


def test_retrievers_come_from_the_config_group(setup):
    from hydra.utils import instantiate
    from omegaconf import OmegaConf

    index, model = setup
    conf = Path(__file__).resolve().parents[1] / "conf" / "retriever"
    for name in ("bm25", "dense", "hybrid"):
        cfg = OmegaConf.load(conf / f"{name}.yaml")
        if name != "bm25":
            cfg.model = str(model)
        retriever = instantiate(cfg, index=str(index.root))
        assert len(retriever.search("제주도에는 어떤 산이 있나?")) >= 1, name


def test_rrf_fuses_ranks_with_weights():
    assert rrf([[1, 2], [2, 3]], [0.5, 0.5], rrf_k=0) == [(2, 0.75), (1, 0.5), (3, 0.25)]
    assert [r for r, _ in rrf([[1, 2], [2, 1]], [1.0, 0.0])] == [1, 2]


def test_dense_model_must_be_a_local_dir(setup, tmp_path):
    from llmsweep.errors import UserError

    index, _ = setup
    with pytest.raises(UserError, match="not a local directory"):
        DenseRetriever(index, "intfloat/multilingual-e5-small")
    with pytest.raises(UserError, match="not a loadable embedding model"):
        DenseRetriever(index, str(tmp_path))
