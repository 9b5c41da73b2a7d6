"""Retrieval-augmented chat for serve.py (`rag.index=INDEX`): the last user message is the query; its hits are put
into the prompt with a template (llmsweep.rag.prompting) and returned as the response's `sources`.

`sources` is an extra top-level field of the chat.completion object (and of the first chat.completion.chunk of a
stream): a list of {"doc", "page", "chunk_id", "score"}, best first. OpenAI clients ignore fields they do not
know; the `openai` package keeps them (`completion.model_extra["sources"]`, or `completion.sources`).
"""

from __future__ import annotations

import logging

from omegaconf import DictConfig, OmegaConf

log = logging.getLogger(__name__)


class RagContext:
    """messages -> (messages with the retrieved context, sources)."""

    def __init__(self, retriever, template: str, top_k: int):
        self.retriever, self.template, self.top_k = retriever, template, top_k

    def __call__(self, messages: list[dict]) -> tuple[list[dict], list[dict]]:
        from llmsweep.rag.prompting import augment, last_user_text

        query = last_user_text(messages)
        hits = self.retriever.search(query, self.top_k) if query.strip() else []
        return augment(messages, hits, self.template), [h.source() for h in hits]


def load_rag(rag: DictConfig | None) -> RagContext | None:
    """The RAG context of serve.py's `rag.*`, or None (no rag.index: the server answers as without RAG)."""
    if rag is None or rag.index is None:
        return None
    from llmsweep.errors import UserError
    from llmsweep.paths import CONF_DIR
    from llmsweep.rag.index import Index
    from llmsweep.rag.prompting import template_of
    from llmsweep.rag.retrieval import make_retriever

    template = template_of(str(rag.prompt), rag.template, where="rag")
    spec_file = CONF_DIR / "retriever" / f"{rag.retriever}.yaml"
    if not spec_file.is_file():
        names = ", ".join(sorted(p.stem for p in spec_file.parent.glob("*.yaml")))
        raise UserError(f"rag.retriever={rag.retriever}: not a retriever ({names})")
    spec = OmegaConf.load(spec_file)
    spec.top_k = int(rag.top_k)
    index = Index.open(rag.index)
    retriever = make_retriever(spec, index, rag.model, rag.weight)
    log.info(
        "RAG: %s retrieval over %s (%d chunks), top_k %d, prompt %s",
        rag.retriever,
        rag.index,
        len(index),
        rag.top_k,
        rag.template and "custom" or rag.prompt,
    )
    return RagContext(retriever, template, int(rag.top_k))
