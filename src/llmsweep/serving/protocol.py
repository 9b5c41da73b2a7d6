"""The request and error bodies of the chat API, and its OpenAPI document.

Requests are parsed with pydantic's own JSON parser (`ChatRequest.model_validate_json`): it refuses lone
surrogates, integers beyond 4300 digits and nesting deeper than its recursion limit as invalid JSON, where
`json.loads` would hand them on (or raise RecursionError/ValueError) to fail later as server errors.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

# int64, what OpenAI documents for `seed` (torch.manual_seed takes it; beyond it raises)
SEED_RANGE = (-(2**63), 2**63 - 1)


# strict: exactly the types the schema says, no coercion ("5" and 5.0 are not integers, 0 is not false)
STRICT = ConfigDict(strict=True)


class TextPart(BaseModel):
    model_config = STRICT

    type: Literal["text"]
    text: str


class Message(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)  # extra: e.g. `name`

    role: Literal["system", "developer", "user", "assistant"]
    content: str | list[TextPart]

    def as_chat(self) -> dict:
        text = self.content if isinstance(self.content, str) else "".join(p.text for p in self.content)
        return {"role": "system" if self.role == "developer" else self.role, "content": text}


class StreamOptions(BaseModel):
    model_config = STRICT

    include_usage: bool = False


class ChatRequest(BaseModel):
    """The chat-completions fields this server honours; other OpenAI fields are accepted and ignored."""

    # NaN and ±Infinity (JSON extensions the parser reads) are refused rather than compared or sampled with
    model_config = ConfigDict(extra="ignore", strict=True, allow_inf_nan=False)

    model: str
    messages: list[Message] = Field(min_length=1)
    temperature: float | None = Field(None, ge=0, le=2)  # None: 1, as OpenAI
    top_p: float | None = Field(None, gt=0, le=1)
    max_tokens: int | None = Field(None, ge=1)
    max_completion_tokens: int | None = Field(None, ge=1)  # newer name of max_tokens
    stop: str | Annotated[list[str], Field(max_length=4)] | None = Field(None, validate_default=True)
    seed: int | None = Field(None, ge=SEED_RANGE[0], le=SEED_RANGE[1])
    n: int | None = Field(None, ge=1, le=1, description="only one choice per request")
    stream: bool | None = False
    stream_options: StreamOptions | None = None

    @field_validator("stop")
    @classmethod
    def _stop_list(cls, v):
        v = [v] if isinstance(v, str) else (v or [])
        return [s for s in v if s]  # an empty stop string stops nothing


class ErrorDetail(BaseModel):
    message: str
    type: str
    param: str | None
    code: str | None


class ErrorResponse(BaseModel):
    """OpenAI's error shape: every non-2xx answer of this server has it."""

    error: ErrorDetail


def error_responses(*statuses: int) -> dict:
    """FastAPI `responses=` entries for error statuses, all with the ErrorResponse body."""
    return {s: {"model": ErrorResponse, "description": DESCRIPTIONS[s]} for s in statuses}


DESCRIPTIONS = {
    400: "invalid request (codes: invalid_json, max_tokens_exceeded, context_length_exceeded, invalid_messages)",
    401: "missing or wrong bearer token",
    404: "no such model or route",
    413: "request body above max_request_bytes",
    500: "generation failed (a server fault, never the request's)",
    503: "the generation queue is full; retry after Retry-After seconds",
}


def add_chat_request_body(openapi: dict, path: str, model_names: list[str], max_tokens: int) -> dict:
    """Put ChatRequest into the OpenAPI document as `path`'s request body.

    The handler reads the raw body itself (size limit, OpenAI-shaped errors), so FastAPI cannot see the model;
    this server's own limits (its model names, its max_tokens) are part of the schema."""
    schema = ChatRequest.model_json_schema(ref_template="#/components/schemas/{model}")
    components = openapi.setdefault("components", {}).setdefault("schemas", {})
    components.update(schema.pop("$defs", {}))
    props = schema["properties"]
    props["model"] |= {"enum": model_names, "description": "this server's model (GET /v1/models), or its run_dir"}
    for name in ("max_tokens", "max_completion_tokens"):
        props[name]["anyOf"][0]["maximum"] = max_tokens
    components["ChatRequest"] = schema
    openapi["paths"][path]["post"]["requestBody"] = {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ChatRequest"}}},
    }
    return openapi
