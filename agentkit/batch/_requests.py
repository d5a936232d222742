"""The requests of a batch: their JSON body, their key across a resume, and the API's limits.

Pure helpers of the coordinator, importable without the SDK.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Protocol, TypeVar

from ..usage import Usage

__all__ = [
    "MAX_BATCH_BYTES",
    "MAX_BATCH_REQUESTS",
    "chunks",
    "has_breakpoint",
    "request_body",
    "request_key",
    "shared_prefix_only",
    "usage_of",
]

MAX_BATCH_REQUESTS = 100_000
MAX_BATCH_BYTES = 256_000_000  # the API's 256 MB, with room for the envelope
_NOT_SENT = frozenset({"extra_headers", "extra_query", "extra_body", "timeout", "stream", "betas"})


class _Sized(Protocol):
    betas: tuple[str, ...]
    size: int


R = TypeVar("R", bound=_Sized)


def request_body(params: dict[str, Any]) -> tuple[dict[str, Any], tuple[str, ...]]:
    """The JSON body a request sends (what a batch request's `params` are), and its beta flags."""
    body = {k: v for k, v in params.items() if k not in _NOT_SENT}
    body.update(params.get("extra_body") or {})
    return body, tuple(params.get("betas") or ())


def shared_prefix_only(body: dict[str, Any]) -> dict[str, Any]:
    """`body` without the cache breakpoints on its messages (and the top-level one, which marks the
    last message): only the system and tools prefix, which every run of the job shares, is cached."""
    out = {k: v for k, v in body.items() if k != "cache_control"}
    messages = []
    for message in body.get("messages") or ():
        content = message.get("content")
        if isinstance(content, list) and any(isinstance(b, dict) and "cache_control" in b for b in content):
            content = [
                {k: v for k, v in b.items() if k != "cache_control"} if isinstance(b, dict) else b for b in content
            ]
            message = {**message, "content": content}
        messages.append(message)
    out["messages"] = messages
    return out


def _unmarked(block: Any) -> Any:
    return {k: v for k, v in block.items() if k != "cache_control"} if isinstance(block, dict) else block


def request_key(body: dict[str, Any]) -> tuple[str, int]:
    """What identifies a request across a resume: the body without its cache breakpoints and
    `max_tokens`, which a restarted run may place or lower differently for the same history; and
    the body's size in bytes, about (for the batch size limit)."""
    data = json.dumps(_strip(body), sort_keys=True, default=str).encode()
    return hashlib.sha256(data).hexdigest()[:32], len(data)


def _strip(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k not in ("cache_control", "max_tokens")}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def has_breakpoint(value: Any) -> bool:
    if isinstance(value, dict):
        return "cache_control" in value or any(has_breakpoint(v) for v in value.values())
    if isinstance(value, list):
        return any(has_breakpoint(v) for v in value)
    return False


def usage_of(raw: dict[str, Any]) -> Usage:
    return Usage(
        input_tokens=raw.get("input_tokens") or 0,
        output_tokens=raw.get("output_tokens") or 0,
        cache_read_tokens=raw.get("cache_read_input_tokens") or 0,
        cache_write_tokens=raw.get("cache_creation_input_tokens") or 0,
        requests=1,
    )


def chunks(
    requests: list[R], max_requests: int = MAX_BATCH_REQUESTS, max_bytes: int = MAX_BATCH_BYTES
) -> list[list[R]]:
    """The requests in batches within the API's limits; requests with different beta flags apart."""
    groups: dict[tuple[str, ...], list[R]] = {}
    for request in requests:
        groups.setdefault(request.betas, []).append(request)
    out: list[list[R]] = []
    for group in groups.values():
        chunk: list[R] = []
        size = 0
        for request in group:
            length = request.size + 200  # the custom_id, the envelope and the breakpoints left out of the key
            if chunk and (len(chunk) >= max_requests or size + length > max_bytes):
                out.append(chunk)
                chunk, size = [], 0
            chunk.append(request)
            size += length
        out.append(chunk)
    return out
