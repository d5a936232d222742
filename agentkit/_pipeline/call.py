"""Stage 5a: one request to the Messages API, streamed or not, and its response as history.

This is the only place that calls `client.messages`. The SDK retries 408/409/429/5xx itself;
what is left surfaces as an `APIError` carrying the status, error type and request id.
"""

from __future__ import annotations

import inspect
import random
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager
from functools import cache
from typing import TYPE_CHECKING, Any, cast

import anthropic
import anyio
import httpx2

from ..errors import APIError
from ..result import Retrying, StreamDelta, TextDelta, ThinkingDelta, ToolCallStarted

if TYPE_CHECKING:
    from anthropic.types import Message, MessageParam

    from ..telemetry import ModelCall, RunTelemetry

# The SDK refuses a non-streaming request that may run past 10 minutes (an hour per 128k tokens),
# so larger answers are streamed even when the caller did not ask for deltas.
_NON_STREAMING_MAX_TOKENS = 21_333


async def request(
    client: anthropic.AsyncAnthropic, params: dict[str, Any], *, stream: bool, tel: RunTelemetry, turn: int
) -> AsyncGenerator[StreamDelta | Retrying | Message, None]:
    """Send one request; when streaming, yield deltas as they arrive. The last item is the `Message`.

    Each attempt is one `chat` span, current only while the request is sent (never across a yield).
    The SDK retries a failed request, but not a stream that breaks after its headers (a cut
    connection, or an `event: error` such as `overloaded_error`). Those are retried here as a
    whole, as often as the client's `max_retries`; a `Retrying` event tells a stream consumer to
    drop what it showed of the broken attempt.
    """
    beta = "betas" in params  # server-side memory (compaction, context editing) is a beta API
    api: Any = client.beta.messages if beta else client.messages
    kwargs, extra_body = _split_params(params, beta=beta)
    if extra_body:
        kwargs["extra_body"] = {**kwargs.get("extra_body", {}), **extra_body}
    streamed = stream or params["max_tokens"] > _NON_STREAMING_MAX_TOKENS
    attempt = 0
    while True:
        try:
            with tel.model_call(params, turn=turn, stream=streamed) as call:
                headers = {**kwargs.get("extra_headers", {}), **call.trace_headers()}
                if not streamed:
                    with call.activated():
                        raw = await api.with_raw_response.create(**kwargs, extra_headers=headers)
                    message = cast("Message", await raw.parse())
                    call.response(message, retries=raw.retries_taken)
                else:
                    async with _opened(api.stream(**kwargs, extra_headers=headers), call) as events:
                        async for event in events:
                            call.first_chunk()
                            delta = _delta(event) if stream else None
                            if delta is not None:
                                yield delta
                        message = await events.get_final_message()
                    call.response(message, request_id=events.response.headers.get("request-id"))
            yield message
            return
        except (anthropic.APIStatusError, anthropic.APIConnectionError, httpx2.TransportError) as exc:
            if not _broken_stream(exc) or attempt >= client.max_retries:
                raise _api_error(exc) from exc
            attempt += 1
            tel.emit("warning", "stream_broken_retrying", turn=turn, attempt=attempt, error=str(exc))
            yield Retrying(f"the response stream broke ({type(exc).__name__}); retrying the request")
            await anyio.sleep(min(0.5 * 2 ** (attempt - 1), 8.0) * (0.75 + random.random() / 4))


@asynccontextmanager
async def _opened(manager: Any, call: ModelCall) -> AsyncIterator[Any]:
    """`async with manager as events`, with the chat span current only while the request is sent."""
    with call.activated():
        events = await manager.__aenter__()
    try:
        yield events
    except BaseException as exc:
        if not await manager.__aexit__(type(exc), exc, exc.__traceback__):
            raise
    else:
        await manager.__aexit__(None, None, None)


def assistant_message(response: Message) -> MessageParam | None:
    """The response as an assistant turn to send back, or None when it has nothing to send.

    Blocks are dumped as the SDK would send them, so thinking blocks and their signatures go back
    unmodified. Empty text blocks are dropped: the API rejects them in a request.
    """
    content = [dump_block(block) for block in response.content if not (block.type == "text" and not block.text)]
    if not content:
        return None
    return cast("MessageParam", {"role": "assistant", "content": content})


def dump_block(block: Any) -> dict[str, Any]:
    """A response block as a request param, exactly as the SDK itself would send it back."""
    exclude = getattr(block, "__api_exclude__", None)
    return cast(dict[str, Any], block.model_dump(mode="json", by_alias=True, exclude_unset=True, exclude=exclude))


def _delta(event: Any) -> StreamDelta | None:
    kind = event.type
    if kind == "text":
        return TextDelta(event.text) if event.text else None
    if kind == "thinking":
        return ThinkingDelta(event.thinking)
    if kind == "content_block_start" and event.content_block.type == "tool_use":
        return ToolCallStarted(event.content_block.id, event.content_block.name)
    return None


def _split_params(params: dict[str, Any], *, beta: bool) -> tuple[dict[str, Any], dict[str, Any]]:
    """Keywords `messages.create` takes, and the rest, which travel in `extra_body`.

    Fields such as `temperature` left the SDK's signature but some models still take them.
    """
    accepted = _create_keywords(beta)
    kwargs = {k: v for k, v in params.items() if k in accepted}
    return kwargs, {k: v for k, v in params.items() if k not in accepted}


@cache
def _create_keywords(beta: bool) -> frozenset[str]:
    resource = anthropic.resources.beta.messages.AsyncMessages if beta else anthropic.resources.messages.AsyncMessages
    return frozenset(inspect.signature(resource.create).parameters) - {"self", "stream"}


def _broken_stream(exc: Exception) -> bool:
    """A stream that failed after its 200: the SDK retried nothing, so the request is worth redoing."""
    if isinstance(exc, anthropic.APIStatusError):
        return exc.status_code == 200 and exc.type in ("overloaded_error", "api_error")
    # A raw transport error is a body cut mid-stream; the SDK's APIConnectionError came after its own retries.
    return isinstance(exc, httpx2.TransportError)


def _api_error(exc: Exception) -> APIError:
    status: int | None = None
    request_id: str | None = None
    error_type: str | None = None
    if isinstance(exc, anthropic.APIStatusError):
        status, request_id, error_type = exc.status_code, exc.request_id, exc.type
    else:
        error_type = type(exc).__name__
    parts = (
        f"status {status}" if status else "",
        error_type or "",
        f"request_id {request_id}" if request_id else "",
    )
    return APIError(
        f"Messages API call failed ({', '.join(p for p in parts if p)}): {exc}",
        status_code=status,
        request_id=request_id,
        error_type=error_type,
    )
