"""One request to the Messages API, streamed or not, and its response as history.

This is the only place that calls `client.messages`. The SDK retries 408/409/429/5xx itself;
what is left surfaces as an `APIError` carrying the status, error type and request id. A
response is only an answer when it is whole: a stream that ends without `message_stop`, with a
content block left open or no `stop_reason`, and a JSON body cut short, are broken responses,
retried like a cut connection and never taken for an answer (no tool runs on half an input).
"""

from __future__ import annotations

import inspect
import json
import random
from collections.abc import AsyncGenerator
from functools import cache
from typing import TYPE_CHECKING, Any, cast

import anthropic
import anyio
import httpx2
import pydantic

from ..errors import APIError
from ..pacing import RunPacing
from ..result import Retrying, StreamDelta, TextDelta, ThinkingDelta, ToolCallStarted
from .accumulate import Accumulated, BrokenResponse

if TYPE_CHECKING:
    from anthropic.types import Message, MessageParam

    from ..hooks import ModelCallHook
    from ..telemetry import RunTelemetry

_DELTAS = (TextDelta, ThinkingDelta, ToolCallStarted, Retrying)
_RETRIED_ERROR_EVENTS = frozenset({"overloaded_error", "api_error", "rate_limit_error", "timeout_error"})


def request(
    client: anthropic.AsyncAnthropic,
    params: dict[str, Any],
    *,
    stream: bool,
    tel: RunTelemetry,
    turn: int,
    hook: ModelCallHook | None = None,
    pacing: RunPacing | None = None,
) -> AsyncGenerator[StreamDelta | Retrying | Message, None]:
    """Send one request (through `hook` when there is one); the last item is the `Message`.

    With a hook, the deltas are delivered once it returns, from the call it made, or synthesised
    from the `Message` it returned without calling `send()` (a replayed step, a batch result).
    """
    if hook is None:
        return _request(client, params, stream=stream, tel=tel, turn=turn, pacing=pacing)
    return _hooked(client, params, stream=stream, tel=tel, turn=turn, hook=hook, pacing=pacing)


async def _hooked(
    client: anthropic.AsyncAnthropic,
    params: dict[str, Any],
    *,
    stream: bool,
    tel: RunTelemetry,
    turn: int,
    hook: ModelCallHook,
    pacing: RunPacing | None,
) -> AsyncGenerator[StreamDelta | Retrying | Message, None]:
    buffered: list[StreamDelta | Retrying] = []

    async def send() -> Message:
        buffered.clear()
        message: Message | None = None
        async for item in _request(client, params, stream=stream, tel=tel, turn=turn, pacing=pacing):
            if isinstance(item, _DELTAS):
                buffered.append(item)
            else:
                message = item
        assert message is not None
        return message

    message = await hook(params, send)
    if stream:
        for item in buffered or _synthesised(message):
            yield item
    yield message


def _synthesised(message: Message) -> list[StreamDelta | Retrying]:
    deltas: list[StreamDelta | Retrying] = []
    for block in message.content:
        if block.type == "text" and block.text:
            deltas.append(TextDelta(block.text))
        elif block.type == "thinking":
            deltas.append(ThinkingDelta(block.thinking))
        elif block.type == "tool_use":
            deltas.append(ToolCallStarted(block.id, block.name))
    return deltas


# The SDK refuses a non-streaming request that may run past 10 minutes (an hour per 128k tokens),
# so larger answers are streamed even when the caller did not ask for deltas.
_NON_STREAMING_MAX_TOKENS = 21_333


async def _request(
    client: anthropic.AsyncAnthropic,
    params: dict[str, Any],
    *,
    stream: bool,
    tel: RunTelemetry,
    turn: int,
    pacing: RunPacing | None = None,
) -> AsyncGenerator[StreamDelta | Retrying | Message, None]:
    """Send one request; when streaming, yield deltas as they arrive. The last item is the `Message`.

    Each attempt is one `chat` span, current only while the request is sent (never across a yield).
    The SDK retries a failed request, but not a stream that breaks after its headers (a cut
    connection, or an `event: error` such as `overloaded_error`). Those are retried here as a
    whole, as often as the client's `max_retries`; a `Retrying` event tells a stream consumer to
    drop what it showed of the broken attempt.

    Every attempt waits for room in the rate limits first (`agentkit.pacing`); once the server is
    known to send rate-limit headers, attempts go with the SDK's retries off and a 429 is retried
    here, after its `retry-after`, through the pacer.
    """
    beta = "betas" in params  # server-side memory (compaction, context editing) is a beta API
    kwargs, extra_body = _split_params(params, beta=beta)
    if extra_body:
        kwargs["extra_body"] = {**kwargs.get("extra_body", {}), **extra_body}
    streamed = stream or params["max_tokens"] > _NON_STREAMING_MAX_TOKENS
    attempt = 0
    paced = (pacing or _UNPACED).request(client, params)  # pacing (issue 20)
    while True:
        try:
            async with paced.attempt() as slot:  # pacing (issue 20): waits for room, then reserves it
                api: Any = slot.client.beta.messages if beta else slot.client.messages
                with tel.model_call(params, turn=turn, stream=streamed) as call:
                    headers = {**kwargs.get("extra_headers", {}), **call.trace_headers()}
                    if not streamed:
                        with call.activated():
                            raw = await api.with_raw_response.create(**kwargs, extra_headers=headers)
                        message = _whole(await _parsed(raw, beta=beta))
                        slot.record(raw.headers, message.usage)  # pacing (issue 20)
                        call.response(message, retries=raw.retries_taken + paced.retries)
                    else:
                        with call.activated():
                            events = await api.create(**kwargs, stream=True, extra_headers=headers)
                        async with events:
                            folded, first = Accumulated(fine_grained=beta and _fine_grained(params, headers)), True
                            async for event in events:
                                if first:
                                    call.first_chunk()
                                    first = False
                                delta = folded.add(event)
                                if stream and delta is not None:
                                    yield delta
                            message = _whole(folded.whole())
                        slot.record(events.response.headers, message.usage)  # pacing (issue 20)
                        call.response(message, request_id=events.response.headers.get("request-id"))
            yield message
            return
        except (anthropic.APIStatusError, anthropic.APIConnectionError, httpx2.TransportError, BrokenResponse) as exc:
            if (delay := paced.retry_delay(exc)) is not None:  # pacing (issue 20): SDK retries were off
                await anyio.sleep(delay)
                continue
            if not _broken_stream(exc) or attempt >= client.max_retries:
                raise _api_error(exc) from exc
            attempt += 1
            tel.emit("warning", "stream_broken_retrying", turn=turn, attempt=attempt, error=str(exc))
            yield Retrying(f"the response stream broke ({type(exc).__name__}); retrying the request")
            await anyio.sleep(min(0.5 * 2 ** (attempt - 1), 8.0) * (0.75 + random.random() / 4))


def _fine_grained(params: dict[str, Any], headers: dict[str, str]) -> bool:
    """Whether a beta request asked for fine-grained tool streaming (the SDK's stream reads its tool
    inputs leniently then)."""
    asked = [*params.get("betas", ()), headers.get("anthropic-beta", "")]
    return any("fine-grained-tool-streaming" in str(beta) for beta in asked)


_UNPACED = RunPacing(enabled=False)  # pacing (issue 20): requests sent outside a run's pacing


def assistant_message(response: Message) -> MessageParam | None:
    """The response as an assistant turn to send back, or None when it has nothing to send.

    Blocks are dumped as the SDK would send them, so thinking blocks and their signatures go back
    unmodified. Empty and whitespace-only text blocks are dropped: the API rejects them.
    """
    content = [dump_block(b) for b in response.content if not (b.type == "text" and not b.text.strip())]
    if not content:
        return None
    return cast("MessageParam", {"role": "assistant", "content": content})


def dump_block(block: Any) -> dict[str, Any]:
    """A response block as a request param, exactly as the SDK itself would send it back."""
    exclude = _excluded(type(block))  # `model_dump`'s own serializer, called without its wrapper's checks
    dumped = block.__pydantic_serializer__.to_python(
        block, mode="json", by_alias=True, exclude_unset=True, exclude=exclude
    )
    return cast(dict[str, Any], dumped)


_EXCLUDED: dict[type, Any] = {}


def _excluded(kind: type) -> Any:
    """The fields the SDK leaves out of a request (`__api_exclude__`), looked up once per class:
    a missing attribute on a pydantic model raises a costly AttributeError."""
    if kind not in _EXCLUDED:
        _EXCLUDED[kind] = getattr(kind, "__api_exclude__", None)
    return _EXCLUDED[kind]


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


def _whole(message: Any) -> Message:
    """The message, if it is a whole one (a body cut short parses to something else, or lacks a stop)."""
    if not isinstance(message, (_message_class(False), _message_class(True))) or message.stop_reason is None:
        raise BrokenResponse("the response body was incomplete")
    return cast("Message", message)


async def _parsed(raw: Any, *, beta: bool) -> Any:
    """The parsed body of a non-streaming response; JSON cut short is a broken response.

    The body is validated straight from its bytes by pydantic-core (about a quarter of the time
    the SDK's `parse()` takes to construct the same `Message` in Python); a body that does not
    validate (a block type or field this SDK does not know) goes through the SDK's lenient parse.
    A body HTTP calls whole (its `content-length` matched, or a FIN ended a close-delimited body)
    may still stop half-way through its JSON; the SDK then raises a raw `json.JSONDecodeError`.
    """
    model = _message_class(beta)
    try:
        message = model.model_validate_json(await raw.read())
    except pydantic.ValidationError:
        pass
    else:
        message._request_id, message._workspace_id = raw.request_id, raw.workspace_id  # as the SDK sets them
        return message
    try:
        return await raw.parse()
    except json.JSONDecodeError as exc:
        raise BrokenResponse(f"the response body was incomplete JSON ({exc})") from exc


@cache
def _message_class(beta: bool) -> Any:
    from anthropic.types import Message
    from anthropic.types.beta import BetaMessage

    return BetaMessage if beta else Message


def _broken_stream(exc: Exception) -> bool:
    """A response that failed after its 200: the SDK retried nothing, so the request is worth redoing."""
    if isinstance(exc, anthropic.APIStatusError):
        return exc.status_code == 200 and exc.type in _RETRIED_ERROR_EVENTS
    # A raw transport error is a body cut mid-stream; the SDK's APIConnectionError came after its own retries.
    return isinstance(exc, (httpx2.TransportError, BrokenResponse))


def _api_error(exc: Exception) -> APIError:
    status: int | None = None
    request_id: str | None = None
    error_type: str | None = None
    if isinstance(exc, anthropic.APIStatusError):
        status, request_id, error_type = exc.status_code, exc.request_id, exc.type
    elif isinstance(exc, (anthropic.APITimeoutError, httpx2.TimeoutException)):
        error_type = "APITimeoutError"
    else:  # a cut connection or an incomplete response, however the transport reported it
        error_type = "APIConnectionError"
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
