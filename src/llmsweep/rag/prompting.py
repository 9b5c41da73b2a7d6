"""Retrieved chunks into a chat prompt: the named templates a RAG run (`rag.prompt`) and serve.py (`rag.prompt`)
choose from, and the sources an answer cites.

A template is a format string with `{context}` (the hits, numbered, each headed by its document and page) and
`{question}` (the user's message). It replaces the content of the last user message; earlier turns stay.
"""

from __future__ import annotations

from llmsweep.errors import UserError

TEMPLATES = {
    # the default: answer from the context only, say so when it is not there
    "grounded": "다음 자료만 근거로 질문에 답하세요. 자료에 답이 없으면 모른다고 답하세요.\n\n"
    "자료:\n{context}\n\n질문: {question}",
    # shortest: the context, then the question
    "concise": "{context}\n\n{question}",
    # the question first (a small model's context window cuts the end of a long prompt least harmfully)
    "question_first": "질문: {question}\n\n참고 자료:\n{context}\n\n위 자료를 바탕으로 짧게 답하세요.",
}


def template_of(name: str, custom: str | None = None, where: str = "rag") -> str:
    """The template `name` (or `custom` when given), checked to hold {context} and {question}."""
    if custom is not None:
        text = str(custom)
        try:
            text.format(context="", question="")
        except (KeyError, IndexError, ValueError) as e:
            raise UserError(
                f"{where}.template: not a format string with only {{context}} and {{question}} ({e}): "
                "double other braces ({{{{ }}}})"
            ) from None
        if "{context}" not in text or "{question}" not in text:
            raise UserError(f"{where}.template must contain {{context}} and {{question}}")
        return text
    if name not in TEMPLATES:
        raise UserError(
            f"{where}.prompt={name!r} is not a template: choose one of {', '.join(TEMPLATES)} "
            f"or set {where}.template='...{{context}}...{{question}}...'"
        )
    return TEMPLATES[name]


def context_block(hits) -> str:
    return "\n\n".join(f"[{i}] {h.doc} p.{h.page}\n{h.text}" for i, h in enumerate(hits, 1))


def augment(messages: list[dict], hits, template: str) -> list[dict]:
    """`messages` with the last user message put into the template around the hits."""
    last = max((i for i, m in enumerate(messages) if m["role"] == "user"), default=None)
    if last is None:
        return messages
    out = [dict(m) for m in messages]
    out[last]["content"] = template.format(context=context_block(hits), question=messages[last]["content"])
    return out


def last_user_text(messages: list[dict]) -> str:
    return next((m["content"] for m in reversed(messages) if m["role"] == "user"), "")
