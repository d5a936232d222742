"""What a scripted model answers: content builders, `Reply`, `Fault`, and the `Request` a handler sees.

Builders return plain dicts in the response shape of the Messages API, so a script reads like the
JSON the real API sends, and the server can serialise them without knowing the SDK's types.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import string
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "ERROR_TYPES",
    "Fault",
    "Handler",
    "Reply",
    "Request",
    "model_info",
    "redacted_thinking",
    "render_message",
    "stream_events",
    "text",
    "thinking",
    "thinking_signature",
    "tool_use",
]

_ALNUM = string.ascii_letters + string.digits
# A fixed key, so that `thinking()` and `validate()` agree without sharing a server: a signature is
# valid exactly when the thinking text is the one it was issued for, as with the real API.
_SIGNING_KEY = b"agentkit.testing thinking signature"


def _random_id(prefix: str) -> str:
    return prefix + "".join(secrets.choice(_ALNUM) for _ in range(24))


def thinking_signature(thinking_text: str) -> str:
    """The signature this server issues for `thinking_text` (an HMAC, so edits are detected)."""
    digest = hmac.new(_SIGNING_KEY, thinking_text.encode(), hashlib.sha256).digest()
    return base64.b64encode(b"agentkit" + digest).decode()


def text(s: str, *, citations: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A `text` content block, optionally citing sources.

    Any string is taken as it is, whitespace-only text included (`text("\\n\\n")` beside a
    `tool_use`, as models do), so tests can check what is sent back.

    Args:
        s: The text.
        citations: The block's `citations`, as the API returns them, e.g. `{"type":
            "char_location", "cited_text": "...", "document_index": 0, "document_title": None,
            "start_char_index": 0, "end_char_index": 10, "file_id": None}`. Streamed as
            `citations_delta` events after the text, as the API does.
    """
    block: dict[str, Any] = {"type": "text", "text": s}
    if citations is not None:
        block["citations"] = citations
    return block


def tool_use(name: str, input: dict[str, Any], id: str | None = None) -> dict[str, Any]:
    """A `tool_use` block; the id is random like the API's (`toolu_` + 24 alphanumerics)."""
    return {"type": "tool_use", "id": id or _random_id("toolu_"), "name": name, "input": input}


def thinking(thinking_text: str, signature: str | None = None) -> dict[str, Any]:
    """A `thinking` block, signed so that the server accepts it back only unmodified."""
    sig = thinking_signature(thinking_text) if signature is None else signature
    return {"type": "thinking", "thinking": thinking_text, "signature": sig}


def redacted_thinking(
    data: str = "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpP",
) -> dict[str, Any]:
    """A `redacted_thinking` block (opaque `data`, passed back as is)."""
    return {"type": "redacted_thinking", "data": data}


@dataclass
class Reply:
    """One successful model answer; `stop_reason=None` is inferred from the content."""

    content: list[dict[str, Any]]
    stop_reason: str | None = None
    stop_sequence: str | None = None
    stop_details: dict[str, Any] | None = None
    usage: dict[str, Any] | None = None
    model: str | None = None

    @classmethod
    def text(cls, s: str) -> Reply:
        """A reply with one text block."""
        return cls([text(s)])

    @classmethod
    def tool_calls(cls, *calls: tuple[str, dict[str, Any]]) -> Reply:
        """A reply asking for several tools at once (parallel `tool_use` blocks)."""
        return cls([tool_use(name, args) for name, args in calls])

    def resolved_stop_reason(self) -> str:
        """The explicit stop reason, else `tool_use` if the reply calls a tool, else `end_turn`."""
        if self.stop_reason is not None:
            return self.stop_reason
        return "tool_use" if any(b.get("type") == "tool_use" for b in self.content) else "end_turn"


FaultKind = Literal[
    "status",
    "reset",
    "cut_stream",
    "end_stream",
    "close_stream",
    "cut_body",
    "stream_error",
    "hang",
    "expired",
    "canceled",
]
# error type -> (HTTP status, message), as the API answers them (platform.claude.com, "Errors")
_ERRORS = {
    "invalid_request_error": (400, "Invalid request"),
    "authentication_error": (401, "invalid x-api-key"),
    "billing_error": (402, "Your credit balance is too low to access the Anthropic API."),
    "permission_error": (403, "Your API key does not have permission to use the specified resource."),
    "not_found_error": (404, "Not found"),
    "request_too_large": (413, "Request exceeds the maximum allowed number of bytes."),
    "rate_limit_error": (429, "Number of request tokens has exceeded your per-minute rate limit"),
    "api_error": (500, "Internal server error"),
    "timeout_error": (504, "Request timed out"),
    "overloaded_error": (529, "Overloaded"),
}
ERROR_TYPES = tuple(_ERRORS)
"""Every error type the API answers with; `Fault.error` and `Fault.stream_error` take each of them."""


@dataclass(frozen=True)
class Fault:
    """One failed HTTP exchange; each fault is consumed by exactly one request.

    Faults that break a body (`cut_stream`, `end_stream`, `close_stream`, `cut_body`, and
    `stream_error` after content) show part of the reply that would come next; it stays queued,
    so a retry receives it whole.
    """

    kind: FaultKind
    error_type: str = "api_error"
    retry_after: float = 0.0
    after_events: int = 0
    seconds: float = 0.0
    detail: str = ""  # the error's message, instead of the type's usual one (e.g. "model: claude-x")

    @property
    def status(self) -> int:
        """The HTTP status of `error_type` (500 for a type the API does not have)."""
        return _ERRORS.get(self.error_type, (500, ""))[0]

    @property
    def message(self) -> str:
        """The API's message for `error_type`, or `detail` when given."""
        return self.detail or _ERRORS.get(self.error_type, (500, self.error_type))[1]

    @classmethod
    def error(cls, error_type: str, retry_after: float = 0) -> Fault:
        """The HTTP error the API answers with for `error_type`, e.g. 403 for `permission_error`.

        Args:
            error_type: One of `ERROR_TYPES`.
            retry_after: Seconds sent in `retry-after` (and `retry-after-ms`) when it is retryable.
        """
        if error_type not in _ERRORS:
            raise ValueError(f"unknown error type {error_type!r}; use one of {', '.join(ERROR_TYPES)}")
        return cls("status", error_type, retry_after=retry_after)

    @classmethod
    def rate_limit(cls, retry_after: float = 0) -> Fault:
        """429 `rate_limit_error` carrying `retry-after` (and `retry-after-ms`)."""
        return cls("status", "rate_limit_error", retry_after=retry_after)

    @classmethod
    def overloaded(cls, retry_after: float = 0) -> Fault:
        """529 `overloaded_error`."""
        return cls("status", "overloaded_error", retry_after=retry_after)

    @classmethod
    def server_error(cls, retry_after: float = 0) -> Fault:
        """500 `api_error`."""
        return cls("status", "api_error", retry_after=retry_after)

    @classmethod
    def reset(cls) -> Fault:
        """Close the TCP connection abruptly (RST), with no response."""
        return cls("reset")

    @classmethod
    def cut_stream(cls, after_events: int = 3) -> Fault:
        """Send `after_events` SSE events (ping included) of the next reply, then close mid-message.

        The chunked body is left unterminated, so the client sees a broken transfer. The reply stays
        queued, so a retry receives it whole; a non-streaming request gets a reset.
        """
        return cls("cut_stream", after_events=after_events)

    @classmethod
    def end_stream(cls, after_events: int = 3) -> Fault:
        """End the body cleanly before `message_stop`: a stream that looks complete to HTTP.

        A streaming request gets `after_events` SSE events (ping included; a negative count counts
        from the end, so `-1` is everything but `message_stop`) and then the chunked terminator. A
        non-streaming request gets the first half of the JSON body with a `content-length` that
        matches it: a whole HTTP response whose JSON is cut short.
        """
        return cls("end_stream", after_events=after_events)

    @classmethod
    def close_stream(cls, after_events: int = 3) -> Fault:
        """A close-delimited body (no `content-length`, not chunked) ended early by a FIN.

        As `end_stream` for what is sent, but the end of the body is the server closing the
        connection, which HTTP/1.1 takes as the end of a close-delimited body, not as an error.
        """
        return cls("close_stream", after_events=after_events)

    @classmethod
    def cut_body(cls) -> Fault:
        """A non-streaming JSON body cut short: `content-length` promises it all, half arrives, then FIN.

        The client sees an incomplete read. A streaming request gets `cut_stream()`'s broken stream.
        """
        return cls("cut_body", after_events=3)

    @classmethod
    def stream_error(cls, error_type: str = "overloaded_error", after_events: int = 1) -> Fault:
        """HTTP 200, `after_events` events of the next reply (1: `message_start` only), then
        `event: error` of `error_type`; a non-streaming request gets that error's HTTP status.

        Args:
            error_type: One of `ERROR_TYPES` (`overloaded_error`, `api_error`, `rate_limit_error`...).
            after_events: How many events of the next reply go first (ping included).
        """
        return cls("stream_error", error_type, after_events=after_events)

    @classmethod
    def expired(cls) -> Fault:
        """A batch request that expired unprocessed (`expired` result); a live request gets a 500."""
        return cls("expired")

    @classmethod
    def canceled(cls) -> Fault:
        """A batch request canceled before it ran (`canceled` result); a live request gets a 500."""
        return cls("canceled")

    @classmethod
    def hang(cls, seconds: float) -> Fault:
        """Wait `seconds`, then the same request takes the next item (unless the client hung up)."""
        return cls("hang", seconds=seconds)


def _last_user(messages: list[Any]) -> dict[str, Any] | None:
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            return message
    return None


def _blocks(message: dict[str, Any] | None) -> list[dict[str, Any]]:
    content = message.get("content") if message else None
    return [b for b in content if isinstance(b, dict)] if isinstance(content, list) else []


@dataclass(frozen=True)
class Request:
    """A request as the server received it: the JSON body exactly as sent, headers lower-cased."""

    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    path: str = "/v1/messages"

    @property
    def messages(self) -> list[dict[str, Any]]:
        value = self.body.get("messages")
        return value if isinstance(value, list) else []

    @property
    def system(self) -> str | list[dict[str, Any]] | None:
        value: str | list[dict[str, Any]] | None = self.body.get("system")
        return value

    @property
    def tools(self) -> list[dict[str, Any]]:
        value = self.body.get("tools")
        return value if isinstance(value, list) else []

    @property
    def model(self) -> str:
        return str(self.body.get("model", ""))

    @property
    def stream(self) -> bool:
        return bool(self.body.get("stream", False))

    @property
    def last_user_text(self) -> str:
        """The text of the last user message (its string content, or its text blocks joined)."""
        message = _last_user(self.messages)
        if message is not None and isinstance(message.get("content"), str):
            return str(message["content"])
        return "".join(str(b.get("text", "")) for b in _blocks(message) if b.get("type") == "text")

    @property
    def tool_results(self) -> list[dict[str, Any]]:
        """The `tool_result` blocks of the last user message."""
        return [b for b in _blocks(_last_user(self.messages)) if b.get("type") == "tool_result"]

    def tool_result(self, tool_use_id: str) -> dict[str, Any] | None:
        """The `tool_result` answering `tool_use_id` in the last user message, if any."""
        return next((b for b in self.tool_results if b.get("tool_use_id") == tool_use_id), None)

    def __repr__(self) -> str:
        return f"Request({self.path}, {json.dumps(self.body)[:200]})"


Handler = Callable[[Request], Reply | Fault | Awaitable[Reply | Fault]]


def model_info(model_id: str, max_input_tokens: int, max_tokens: int) -> dict[str, Any]:
    """A `ModelInfo` body for any model id, with this server's limits."""
    return {
        "type": "model",
        "id": model_id,
        "display_name": " ".join(part.capitalize() for part in model_id.split("-")),
        "created_at": "2025-09-29T00:00:00Z",
        "lifecycle": "active",
        "max_input_tokens": max_input_tokens,
        "max_tokens": max_tokens,
    }


def render_message(reply: Reply, *, model: str, usage: dict[str, Any]) -> dict[str, Any]:
    """The non-streaming response body for `reply` (a fresh `msg_` id each time)."""
    return {
        "id": _random_id("msg_"),
        "type": "message",
        "role": "assistant",
        "model": reply.model or model,
        "content": json.loads(json.dumps(reply.content)),
        "stop_reason": reply.resolved_stop_reason(),
        "stop_sequence": reply.stop_sequence,
        "stop_details": reply.stop_details,
        "usage": {**usage, **(reply.usage or {})},
    }


def _pieces(s: str, parts: int = 3) -> list[str]:
    size = max(1, -(-len(s) // parts))
    return [s[k : k + size] for k in range(0, len(s), size)]


def _block_events(index: int, block: dict[str, Any], *, cut: bool = False) -> list[dict[str, Any]]:
    """A block's start, deltas and stop. A tool call with no input streams one empty delta; one cut
    by `max_tokens` (`cut`) streams its input JSON only part of the way, as the API does."""
    kind = block.get("type")
    deltas: list[dict[str, Any]] = []
    if kind == "text":
        cited = block.get("citations") or []
        start = {**{k: v for k, v in block.items() if not (k == "citations" and cited)}, "text": ""}
        deltas = [{"type": "text_delta", "text": p} for p in _pieces(block["text"])]
        deltas += [{"type": "citations_delta", "citation": c} for c in cited]
    elif kind == "tool_use":
        start = {**block, "input": {}}
        sent = json.dumps(block["input"]) if block["input"] else ""
        if cut:
            sent = sent[: max(1, len(sent) * 2 // 3)]
        deltas = [{"type": "input_json_delta", "partial_json": p} for p in ["", *_pieces(sent)]]
    elif kind == "thinking":
        start = {**block, "thinking": "", "signature": ""}
        deltas = [{"type": "thinking_delta", "thinking": p} for p in _pieces(block["thinking"])]
        deltas.append({"type": "signature_delta", "signature": block["signature"]})
    else:  # redacted thinking, server tool blocks: whole in the start event
        start = block
    return [
        {"type": "content_block_start", "index": index, "content_block": start},
        *({"type": "content_block_delta", "index": index, "delta": d} for d in deltas),
        {"type": "content_block_stop", "index": index},
    ]


def stream_events(message: dict[str, Any]) -> list[dict[str, Any]]:
    """The SSE events (`data` payloads; the event name is their `type`) that stream `message`.

    `message_start` carries the input usage, `message_delta` the stop reason and final counts, so the
    SDK's accumulated `get_final_message()` equals the non-streaming `Message`.
    """
    usage = message["usage"]
    start = {
        **message,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "stop_details": None,
        "usage": {**usage, "output_tokens": min(1, usage.get("output_tokens", 0))},
    }
    delta_usage = {
        k: usage[k]
        for k in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens", "output_tokens")
        if k in usage
    }
    events: list[dict[str, Any]] = [{"type": "message_start", "message": start}, {"type": "ping"}]
    last = len(message["content"]) - 1
    for index, block in enumerate(message["content"]):
        events.extend(_block_events(index, block, cut=index == last and message["stop_reason"] == "max_tokens"))
    stop = {k: message[k] for k in ("stop_reason", "stop_sequence", "stop_details")}
    events.append({"type": "message_delta", "delta": stop, "usage": delta_usage})
    events.append({"type": "message_stop"})
    return events
