"""What the API serves: a run's model and tokenizer, and one chat completion at a time.

A run dir's `model/` is a LoRA adapter (loaded on its base with peft) or a full model; a merge output
or any saved model directory is served as it is. Prompts go through the tokenizer's own chat template
and `model.generate`, the same way `generation.generate_answers` writes a run's answers.
"""

from __future__ import annotations

import copy
import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, StoppingCriteria, StoppingCriteriaList, TextStreamer

from llmsweep.errors import UserError
from llmsweep.generation import chat_batch, generate_new_tokens
from llmsweep.models.tokenizer import ensure_chat_ready

log = logging.getLogger(__name__)


# Temperatures below this sample greedily, as vLLM does (_SAMPLING_EPS): dividing logits by a tiny temperature
# overflows float32 to inf, and softmax of inf is NaN, which torch.multinomial refuses.
GREEDY_BELOW = 1e-5


class PromptError(ValueError):
    """The messages cannot be made into a prompt (the model's chat template refused them): the client's to fix."""


@dataclass
class SamplingParams:
    max_tokens: int
    temperature: float = 1.0  # 0: greedy
    top_p: float = 1.0
    stop: list[str] = field(default_factory=list)
    seed: int | None = None


@dataclass
class Completion:
    text: str
    finish_reason: str  # "stop" (end of sequence or a stop string) | "length" (max_tokens reached)
    prompt_tokens: int
    completion_tokens: int


def model_dir_of(path: str | Path) -> Path:
    """The directory holding the model: `<run dir>/model`, or the path itself (merge output, saved model)."""
    p = Path(path).expanduser()
    if not p.is_dir():
        raise UserError(
            f"run_dir={path}: no such directory. Fix: pass a training run dir, a merge output or a saved model directory."
        )
    for d in (p / "model", p):
        if (d / "adapter_config.json").is_file() or (d / "config.json").is_file():
            return d
    raise UserError(
        f"run_dir={path}: neither {p / 'model'} nor {p} holds a model (config.json) or a LoRA adapter (adapter_config.json). "
        "Fix: point run_dir at a finished run (it saves model/), a merge output or a model saved with save_pretrained."
    )


def adapter_base(model_dir: Path) -> str | None:
    """The base checkpoint a LoRA adapter was trained on, or None for a full model."""
    cfg = model_dir / "adapter_config.json"
    if not cfg.is_file():
        return None
    return json.loads(cfg.read_text(encoding="utf-8"))["base_model_name_or_path"]


class StopTrimmer:
    """Text cut before the first stop string, fed piece by piece (a stream) or at once.

    A tail that could be the start of a stop string is held back until the next piece decides it."""

    def __init__(self, stops: list[str]):
        self.stops = [s for s in stops if s]
        self.held = ""
        self.stopped = False

    def feed(self, text: str) -> str:
        if self.stopped:
            return ""
        self.held += text
        hits = [i for i in (self.held.find(s) for s in self.stops) if i >= 0]
        if hits:
            out, self.held, self.stopped = self.held[: min(hits)], "", True
            return out
        keep = max((k for s in self.stops for k in range(1, len(s)) if self.held.endswith(s[:k])), default=0)
        out, self.held = self.held[: len(self.held) - keep], self.held[len(self.held) - keep :]
        return out

    def flush(self) -> str:
        out, self.held = ("" if self.stopped else self.held), ""
        return out


class TransformersEngine:
    """Chat completions with `model.generate`; callers serialize calls (the API's single worker)."""

    def __init__(self, model, tokenizer):
        self.model = model
        self.tokenizer = tokenizer
        self.context_length = getattr(model.config, "max_position_embeddings", None) or getattr(
            tokenizer, "model_max_length", None
        )
        # Requests are measured on the API's threads while the worker generates. A fast tokenizer must not
        # encode on one thread while another decodes with it ("Already borrowed"), so counting has its own copy.
        self._counting = copy.deepcopy(tokenizer)
        self._counting_lock = threading.Lock()

    def _batch(self, messages: list[dict]):
        return _templated(self.tokenizer, messages, self.model.device)

    def count_prompt_tokens(self, messages: list[dict]) -> int:
        with self._counting_lock:
            return int(_templated(self._counting, messages, "cpu")["input_ids"].shape[1])

    def complete(
        self,
        messages: list[dict],
        params: SamplingParams,
        on_text: Callable[[str], None] | None = None,
        cancelled: threading.Event | None = None,
    ) -> Completion:
        """One answer. `on_text` receives it in pieces as it is generated; `cancelled` stops it early."""
        batch = self._batch(messages)
        kwargs: dict = {"max_new_tokens": params.max_tokens}
        if params.temperature < GREEDY_BELOW:
            kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        else:
            # OpenAI sampling has no top-k: switch off transformers' default of 50
            kwargs.update(do_sample=True, temperature=params.temperature, top_p=params.top_p, top_k=0)
            if params.seed is not None:
                torch.manual_seed(params.seed)
        if params.stop:  # stops generating at a stop string; the text is cut before it below
            kwargs["stop_strings"] = params.stop
        if cancelled is not None:
            kwargs["stopping_criteria"] = StoppingCriteriaList([_Cancelled(cancelled)])
        stream_trim = StopTrimmer(params.stop)
        if on_text is not None:
            kwargs["streamer"] = _CallbackStreamer(self.tokenizer, lambda t: on_text(stream_trim.feed(t)))

        new = generate_new_tokens(self.model, self.tokenizer, batch, **kwargs)[0]
        if on_text is not None:
            on_text(stream_trim.flush())

        trim = StopTrimmer(params.stop)
        text = trim.feed(self.tokenizer.decode(new, skip_special_tokens=True)) + trim.flush()
        ended = trim.stopped or (len(new) > 0 and int(new[-1]) == self.tokenizer.eos_token_id)
        finish = "stop" if ended or len(new) < params.max_tokens else "length"
        return Completion(text, finish, int(batch["input_ids"].shape[1]), int(len(new)))


def _templated(tokenizer, messages: list[dict], device):
    from jinja2 import TemplateError

    try:
        return chat_batch(tokenizer, [messages], device)
    except TemplateError as e:  # e.g. a template's raise_exception('roles must alternate user/assistant')
        raise PromptError(f"the model's chat template refused these messages: {e}") from e


class _CallbackStreamer(TextStreamer):
    """transformers' TextStreamer (decodes at word boundaries), handing each finalized piece to a callback."""

    def __init__(self, tokenizer, callback: Callable[[str], None]):
        super().__init__(tokenizer, skip_prompt=True, skip_special_tokens=True)
        self.callback = callback

    def on_finalized_text(self, text: str, stream_end: bool = False):
        if text:
            self.callback(text)


class _Cancelled(StoppingCriteria):
    """Stops generating once the client has gone away."""

    def __init__(self, event: threading.Event):
        self.event = event

    def __call__(self, input_ids, scores, **kwargs):
        return torch.full((input_ids.shape[0],), self.event.is_set(), dtype=torch.bool, device=input_ids.device)


def load_transformers_engine(
    model_dir: str | Path, dtype: str = "auto", device: str = "auto", threads: int | None = None
) -> TransformersEngine:
    """The run's model (adapter on its base, or full) and tokenizer, ready to generate."""
    if threads:
        torch.set_num_threads(threads)
    model_dir = Path(model_dir)
    base = adapter_base(model_dir)
    torch_dtype = dtype if dtype == "auto" else getattr(torch, dtype)
    try:
        if base is not None:
            from peft import AutoPeftModelForCausalLM

            model = AutoPeftModelForCausalLM.from_pretrained(str(model_dir), dtype=torch_dtype)
        else:
            model = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=torch_dtype)
    except OSError as e:
        where = f"its base model '{base}' (adapter_config.json: base_model_name_or_path)" if base else str(model_dir)
        raise UserError(
            f"cannot load {where}: {e}. Fix: make the base checkpoint available at that path or in the HF cache."
        ) from e
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(model_dir))  # saved with every run's model
    except (OSError, ValueError):
        if base is None:
            raise UserError(
                f"{model_dir} has no tokenizer. Fix: save the tokenizer next to the model (tokenizer.save_pretrained)."
            ) from None
        tokenizer = AutoTokenizer.from_pretrained(base)
    ensure_chat_ready(tokenizer)
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    model.to(device)
    model.eval()
    log.info("loaded %s%s on %s", model_dir, f" (LoRA adapter on {base})" if base else "", device)
    return TransformersEngine(model, tokenizer)
