"""A byte-level BPE tokenizer trained locally on the bundled Korean samples (scale=tiny)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from pathlib import Path

from transformers import PreTrainedTokenizerFast

CHAT_TEMPLATE = (Path(__file__).parent / "chat_template.jinja").read_text(encoding="utf-8")
SPECIAL_TOKENS = {"unk_token": "<unk>", "bos_token": "<s>", "eos_token": "</s>", "pad_token": "<pad>"}
TURN_MARKERS = ("### 질문:\n", "### 답변:\n")  # as written by chat_template.jinja
TEXT_FIELDS = ("instruction", "context", "response", "prompt", "chosen", "rejected")


def corpus_texts(paths: Iterable[str]) -> Iterator[str]:
    """Every non-empty text field of every Dolly or preference record in the corpus files."""
    for path in paths:
        with open(path, encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    rec = json.loads(line)
                    yield from (rec[k] for k in TEXT_FIELDS if isinstance(rec.get(k), str) and rec[k].strip())


def corpus_key(paths: list[str], *parts: object) -> str:
    h = hashlib.sha256(json.dumps([str(p) for p in parts]).encode() + CHAT_TEMPLATE.encode())
    for path in paths:
        h.update(Path(path).read_bytes())
    return h.hexdigest()[:16]


def train_tokenizer(paths: list[str], vocab_size: int) -> PreTrainedTokenizerFast:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE(unk_token=SPECIAL_TOKENS["unk_token"]))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(SPECIAL_TOKENS.values()),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    # the turn markers appear once per turn in training text, so they earn merges of their own
    texts = (marker + t for t in corpus_texts(paths) for marker in TURN_MARKERS)
    tok.train_from_iterator(texts, trainer=trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, **SPECIAL_TOKENS)
    fast.chat_template = CHAT_TEMPLATE
    return fast


def ensure_chat_ready(tokenizer) -> None:
    """Real checkpoints often ship without a chat template or pad token; give them ours."""
    if not getattr(tokenizer, "chat_template", None):
        tokenizer.chat_template = CHAT_TEMPLATE
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token


UNSET_LENGTH = int(1e29)  # transformers writes int(1e30) for a tokenizer saved without model_max_length


def lengths_from_config(tokenizer, config) -> None:
    """A tokenizer without a model_max_length (transformers' ~1e30 placeholder, e.g. SmolLM2) takes the model's
    context length from its config, so truncation and every length derived from the tokenizer mean something; it
    is saved with the run's model and so reaches serving and merging too."""
    context = getattr(config.get_text_config(), "max_position_embeddings", None)
    if context and tokenizer.model_max_length >= UNSET_LENGTH:
        tokenizer.model_max_length = int(context)


def with_system_prompt(template: str, system_prompt: str) -> str:
    """The chat template with `system_prompt` as the system message of every conversation that has none (so a
    template's built-in default, like SmolLM2's, is replaced by the configured one and shows in the config)."""
    literal = json.dumps(system_prompt)  # ASCII with \\uXXXX escapes: also a valid Jinja string literal
    preamble = (
        "{%- if not messages or messages[0]['role'] != 'system' -%}"
        f"{{%- set messages = [{{'role': 'system', 'content': {literal}}}] + messages -%}}"
        "{%- endif -%}"
    )
    return preamble + template
