"""The OpenAI-compatible HTTP API (FastAPI): /health, /v1/models, /v1/chat/completions.

Responses are built from the `openai` package's own types, so they are what its client parses.
Every error is a JSON body in OpenAI's shape: {"error": {"message", "type", "param", "code"}}.
Generation runs on one worker thread (the engine is not thread-safe, and one model on a CPU gains
nothing from running two at once); requests wait in a bounded queue, beyond it they get 503.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from fastapi import Depends, FastAPI, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, StreamingResponse
from openai.types import CompletionUsage, Model
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from llmsweep.serving.engine import PromptError, SamplingParams
from llmsweep.serving.protocol import ChatRequest, add_chat_request_body, error_responses
from llmsweep.serving.security import bearer_matches

log = logging.getLogger(__name__)


class APIError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        type: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
        headers: dict | None = None,
    ):
        super().__init__(message)
        self.status, self.message, self.type, self.param, self.code, self.headers = (
            status,
            message,
            type,
            param,
            code,
            headers,
        )

    def response(self) -> JSONResponse:
        body = {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}
        return JSONResponse(body, status_code=self.status, headers=self.headers)


class GenerationWorker:
    """One generation at a time on its own thread; at most `queue_size` more wait, the rest get 503."""

    def __init__(self, queue_size: int):
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="generate")
        self.capacity = queue_size + 1
        self.pending = 0  # touched on the event loop thread only

    def submit(self, fn, *args) -> asyncio.Future:
        if self.pending >= self.capacity:
            raise APIError(
                503,
                f"the server is busy: {self.pending} requests are running or queued "
                f"(queue_size={self.capacity - 1}). Retry later.",
                type="server_error",
                code="server_overloaded",
                headers={"Retry-After": "1"},
            )
        self.pending += 1
        fut = asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)
        fut.add_done_callback(self._done)
        return fut

    def _done(self, _fut) -> None:
        self.pending -= 1


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it is known to exceed `limit` bytes."""
    too_large = APIError(
        413, f"request body exceeds the server's limit of {limit} bytes (max_request_bytes)", code="request_too_large"
    )
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise too_large
    return bytes(body)


# One server-sent event of a streamed answer (OpenAPI 3.1: a text/event-stream schema describes each event)
SSE_EVENT = {
    "type": "object",
    "required": ["data"],
    "properties": {
        "data": {"type": "string", "description": "a chat.completion.chunk object as JSON; the last event is [DONE]"}
    },
}


def _sse(obj) -> str:
    return f"data: {obj.model_dump_json(exclude_unset=True)}\n\n"


def create_app(
    engine,
    *,
    model_name: str,
    token: str | None,
    max_tokens: int,
    max_request_bytes: int,
    queue_size: int,
    aliases: Sequence[str] = (),
    rag=None,
) -> FastAPI:
    """The API over a loaded engine. `token` None: no authentication (the caller allows that on loopback only).
    `rag` (serving.rag.RagContext): answers get retrieved context and carry an extra `sources` field.

    Requests may name the model `model_name` or any of `aliases` (e.g. the run dir path); answers name it
    `model_name`."""
    app = FastAPI(title="llmsweep chat API", version=_version(), docs_url=None, redoc_url=None, openapi_url=None)
    worker = GenerationWorker(queue_size)
    created = int(time.time())
    accepted = list(dict.fromkeys([model_name, *aliases]))
    app.state.worker = worker

    @app.exception_handler(APIError)
    async def _api_error(request: Request, exc: APIError):
        return exc.response()

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException):
        return APIError(exc.status_code, str(exc.detail), code=None, headers=getattr(exc, "headers", None)).response()

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError):
        return APIError(400, str(exc)).response()

    @app.exception_handler(Exception)
    async def _bug(
        request: Request, exc: Exception
    ):  # a server fault still answers in the API's shape; uvicorn logs it
        return APIError(500, f"internal error: {type(exc).__name__}", type="server_error").response()

    def authorized(request: Request) -> None:
        if token is not None and not bearer_matches(token, request.headers.get("authorization")):
            raise APIError(
                401,
                "missing or wrong API key: send 'Authorization: Bearer <token>' (the server's $LLMSWEEP_API_TOKEN)",
                code="invalid_api_key",
            )

    def unknown_model(name: str) -> APIError:
        return APIError(
            404,
            f"model {_shown(name)} does not exist; this server serves '{model_name}'",
            param="model",
            code="model_not_found",
        )

    @app.get("/health")
    async def health():
        return {"status": "ok", "pending": worker.pending}

    def model_card() -> dict:
        return Model(id=model_name, created=created, object="model", owned_by="llmsweep").model_dump(exclude_none=True)

    @app.get("/openapi.json", dependencies=[Depends(authorized)], include_in_schema=False)
    async def openapi():
        return app.openapi()

    @app.get("/v1/models", dependencies=[Depends(authorized)], responses=error_responses(401))
    async def models():
        return {"object": "list", "data": [model_card()]}

    @app.get(
        "/v1/models/{name:path}",
        dependencies=[Depends(authorized)],
        response_model=Model,
        response_model_exclude_none=True,
        responses=error_responses(401, 404),
    )
    async def model(name: str = Path(examples=accepted)):
        if name not in accepted:
            raise unknown_model(name)
        return model_card()

    rag_note = (
        (
            "; RAG (serve.py rag.index=...): an extra top-level `sources` list of {doc, page, chunk_id, score}, "
            "best first, on the completion and on a stream's first chunk"
        )
        if rag is not None
        else ""
    )
    chat_responses = {
        200: {
            "model": ChatCompletion,
            "description": "the answer; with stream=true, server-sent events of "
            "chat.completion.chunk objects ending with `data: [DONE]`" + rag_note,
            "content": {"text/event-stream": {"schema": SSE_EVENT}},
        },
        **error_responses(400, 401, 404, 413, 500, 503),
    }

    @app.post("/v1/chat/completions", dependencies=[Depends(authorized)], responses=chat_responses)
    async def chat_completions(request: Request):
        req = _parse(await read_body(request, max_request_bytes))
        if req.model not in accepted:
            raise unknown_model(req.model)
        messages = [m.as_chat() for m in req.messages]
        extra = {}
        if rag is not None:
            messages, extra["sources"] = await run_in_threadpool(rag, messages)
        try:
            prompt_tokens = await run_in_threadpool(engine.count_prompt_tokens, messages)
        except PromptError as e:
            raise APIError(400, str(e), param="messages", code="invalid_messages") from e
        params = SamplingParams(
            max_tokens=_max_tokens(req, prompt_tokens, max_tokens, engine.context_length),
            temperature=1.0 if req.temperature is None else req.temperature,
            top_p=1.0 if req.top_p is None else req.top_p,
            stop=req.stop,
            seed=req.seed,
        )
        cid, now = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
        if req.stream:
            include_usage = bool(req.stream_options and req.stream_options.include_usage)
            return _stream(worker, engine, messages, params, cid, now, model_name, include_usage, extra)
        job = worker.submit(engine.complete, messages, params)
        try:
            done = await job
        except Exception as e:  # a generation error fails this request only
            log.exception("generation failed")
            raise APIError(500, f"generation failed: {type(e).__name__}: {e}", type="server_error") from e
        return ChatCompletion(
            id=cid,
            created=now,
            model=model_name,
            object="chat.completion",
            choices=[
                {
                    "index": 0,
                    "finish_reason": done.finish_reason,
                    "message": {"role": "assistant", "content": done.text},
                }
            ],
            usage=_usage(done),
            **extra,
        ).model_dump(mode="json", exclude_none=True)

    def schema() -> dict:
        if app.openapi_schema is None:
            app.openapi_schema = add_chat_request_body(
                get_openapi(title=app.title, version=app.version, routes=app.routes),
                "/v1/chat/completions",
                accepted,
                max_tokens,
            )
        return app.openapi_schema

    app.openapi = schema
    return app


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("llmsweep")
    except PackageNotFoundError:
        return "0"


def _shown(value: str, limit: int = 80) -> str:
    """A client's value quoted in a message, cut to `limit` characters (a name may be megabytes)."""
    return repr(value if len(value) <= limit else value[:limit] + "…")


def _parse(body: bytes) -> ChatRequest:
    try:
        return ChatRequest.model_validate_json(body)
    except ValidationError as e:
        first = e.errors()[0]
        if first["type"] == "json_invalid":
            raise APIError(400, f"the request body is not valid JSON: {first['msg']}", code="invalid_json") from e
        where = ".".join(str(p) for p in first["loc"]) or None
        raise APIError(
            400,
            f"{where or 'body'}: {first['msg']}" + (f" ({len(e.errors())} errors)" if len(e.errors()) > 1 else ""),
            param=where,
        ) from e


def _max_tokens(req: ChatRequest, prompt_tokens: int, limit: int, context_length: int | None) -> int:
    """The request's token budget: at most the server's limit, and the prompt plus it within the context."""
    asked = req.max_completion_tokens or req.max_tokens
    param = "max_completion_tokens" if req.max_completion_tokens else "max_tokens"
    if asked is not None and asked > limit:
        raise APIError(
            400,
            f"{param}={asked} is above this server's limit of {limit} (max_tokens)",
            param=param,
            code="max_tokens_exceeded",
        )
    room = None if context_length is None else context_length - prompt_tokens
    if room is not None and room < (asked or 1):
        wants = f" plus {param}={asked}" if asked else ""
        raise APIError(
            400,
            f"this model's context is {context_length} tokens; the messages take {prompt_tokens}{wants}. "
            f"Shorten the messages{f' or lower {param}' if asked else ''}.",
            param="messages",
            code="context_length_exceeded",
        )
    return asked or (limit if room is None else min(limit, room))


def _usage(done) -> CompletionUsage:
    return CompletionUsage(
        prompt_tokens=done.prompt_tokens,
        completion_tokens=done.completion_tokens,
        total_tokens=done.prompt_tokens + done.completion_tokens,
    )


def _stream(
    worker: GenerationWorker,
    engine,
    messages,
    params,
    cid,
    now,
    model_name,
    include_usage,
    extra: dict | None = None,
) -> StreamingResponse:
    """Server-sent events in OpenAI's chunk format, ending with `data: [DONE]`. `extra` fields (RAG's sources)
    ride on the first chunk.

    The job is queued before the response starts, so a full queue is still a plain 503."""
    loop = asyncio.get_running_loop()
    pieces: asyncio.Queue = asyncio.Queue()
    cancelled = threading.Event()

    def on_text(text: str) -> None:  # called on the worker thread
        if text:
            loop.call_soon_threadsafe(pieces.put_nowait, text)

    job = worker.submit(engine.complete, messages, params, on_text, cancelled)
    job.add_done_callback(lambda _: pieces.put_nowait(None))  # after every piece: both arrive through the loop in order

    def chunk(delta: dict, finish_reason=None, **extra) -> str:
        choice = {"index": 0, "delta": delta, "finish_reason": finish_reason}
        return _sse(
            ChatCompletionChunk(
                id=cid, created=now, model=model_name, object="chat.completion.chunk", choices=[choice], **extra
            )
        )

    async def events():
        try:
            yield chunk({"role": "assistant", "content": ""}, **(extra or {}))
            while (text := await pieces.get()) is not None:
                yield chunk({"content": text})
            try:
                done = job.result()
            except Exception as e:
                log.exception("generation failed")
                yield f"data: {json.dumps({'error': {'message': f'generation failed: {type(e).__name__}: {e}', 'type': 'server_error', 'param': None, 'code': None}})}\n\n"
            else:
                yield chunk({}, done.finish_reason)
                if include_usage:
                    yield _sse(
                        ChatCompletionChunk(
                            id=cid,
                            created=now,
                            model=model_name,
                            object="chat.completion.chunk",
                            choices=[],
                            usage=_usage(done),
                        )
                    )
            yield "data: [DONE]\n\n"
        finally:
            cancelled.set()  # a client that went away frees the worker at the next token

    return StreamingResponse(events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})
