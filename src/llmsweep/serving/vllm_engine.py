"""vLLM as the engine (GPU machines): same API, same run dirs; a LoRA adapter is served on its base.

Not installed on CPU machines; `engine=vllm` there stops with a message saying so. vLLM's offline
`LLM.chat` returns whole answers, so a streamed response arrives as one content chunk.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path

from llmsweep.errors import UserError
from llmsweep.serving.engine import Completion, PromptError, SamplingParams, adapter_base


class VLLMEngine:
    def __init__(self, llm, lora_request=None):
        self.llm = llm
        self.lora_request = lora_request
        self.tokenizer = llm.get_tokenizer()
        self.context_length = llm.llm_engine.model_config.max_model_len

    def count_prompt_tokens(self, messages: list[dict]) -> int:
        from jinja2 import TemplateError

        try:
            return len(self.tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True))
        except TemplateError as e:
            raise PromptError(f"the model's chat template refused these messages: {e}") from e

    def complete(
        self,
        messages: list[dict],
        params: SamplingParams,
        on_text: Callable[[str], None] | None = None,
        cancelled: threading.Event | None = None,
    ) -> Completion:
        import vllm

        sampling = vllm.SamplingParams(
            temperature=params.temperature,
            top_p=params.top_p,
            max_tokens=params.max_tokens,
            stop=params.stop or None,
            seed=params.seed,
        )
        out = self.llm.chat([messages], sampling, lora_request=self.lora_request, use_tqdm=False)[0]
        answer = out.outputs[0]
        if on_text is not None and answer.text:
            on_text(answer.text)
        return Completion(
            answer.text,
            "length" if answer.finish_reason == "length" else "stop",
            len(out.prompt_token_ids),
            len(answer.token_ids),
        )


def load_vllm_engine(
    model_dir: str | Path,
    dtype: str = "auto",
    tensor_parallel_size: int = 1,
    gpu_memory_utilization: float = 0.9,
    max_model_len: int | None = None,
) -> VLLMEngine:
    try:
        import vllm
        from vllm.lora.request import LoRARequest
    except ImportError as e:
        raise UserError(
            "engine=vllm needs the vllm package, which is not installed in this environment. vLLM is for GPU "
            "machines: `pip install vllm` there (it brings its own CUDA build of torch, so use a separate venv), "
            "or serve with the default engine=transformers."
        ) from e
    model_dir = Path(model_dir)
    base = adapter_base(model_dir)
    lora_rank = None
    if base is not None:
        lora_rank = json.loads((model_dir / "adapter_config.json").read_text(encoding="utf-8"))["r"]
    llm = vllm.LLM(
        model=base or str(model_dir),
        tokenizer=str(model_dir),  # the run saves its tokenizer and chat template with the model
        dtype=dtype,
        tensor_parallel_size=tensor_parallel_size,
        gpu_memory_utilization=gpu_memory_utilization,
        max_model_len=max_model_len,
        enable_lora=base is not None,
        **({"max_lora_rank": lora_rank} if lora_rank else {}),
    )
    return VLLMEngine(llm, LoRARequest("run", 1, str(model_dir)) if base is not None else None)
