"""Content-block rules of the Messages API's validator: one block of a message, nested ones included.

Split from `_validate` (which holds the request- and conversation-level rules) so each reads in one
sitting. Every check raises `Invalid` with the API's message and path (`messages.N.content.M...`).

Relied on (the API's 400s as quoted verbatim in public issue reports and in code that measured the
live API; where no quote was found the message is phrased in the same style):
- "messages: text content blocks must be non-empty" / "... must contain non-whitespace text"
  (anthropic-sdk-python#461, many claude-code reports);
- "messages.1.content: 'image' blocks are not permitted within assistant turns" (measured against
  the live API 2026-09-20, quoted in a public repository; SEMOSS/Semoss#2323);
- "messages.208.content.0.tool_result.content.0.image.source.base64.media_type: Input should be
  'image/jpeg', 'image/png', 'image/gif' or 'image/webp'" (anthropics/claude-code#3073);
- "messages.9.content.5.image.source.base64.data: Image does not match the provided media type
  image/jpeg" (quoted in several public repositories); we only flag data whose magic bytes name
  another known image format, since undecodable data gets other messages we could not confirm;
- base64 documents take `application/pdf`, text documents `text/plain` (the SDK's
  `Base64PDFSourceParam` / `PlainTextSourceParam` literals);
- "messages.14.content.0.tool_result: content cannot be empty if `is_error` is true" (quoted in
  public issue reports from the first-party API and Bedrock).
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from agentkit.testing._script import thinking_signature

__all__ = ["CORE_TYPES", "Invalid", "check_block", "check_cache_control", "check_text"]


class Invalid(Exception):
    """Carries the first rejection message out of the nested checks."""


CORE_TYPES = (
    "text", "image", "document", "search_result", "tool_use", "tool_result", "thinking", "redacted_thinking",
)  # fmt: skip
_NESTED_TYPES = ("text", "image", "document", "search_result")
_ASSISTANT_ONLY = {"tool_use", "thinking", "redacted_thinking"}
_USER_ONLY_MEDIA = ("image", "document")
_TOOL_USE_ID = re.compile(r"^[a-zA-Z0-9_-]+$")
_IMAGE_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")
_MAGIC = (  # the leading bytes of each image format the API takes
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)
_SOURCES = {
    "image": ("base64", "url", "file"),
    "document": ("base64", "text", "content", "url", "file"),
}
_UNKNOWN_TAG = "{path}: Input tag '{kind}' found using 'type' does not match any of the expected tags: {expected}"
_NESTED_TYPE = "{path}.tool_result.content.{k}.type: Input should be 'text', 'image', 'document' or 'search_result'"


def _quoted(options: tuple[str, ...]) -> str:
    quoted = [f"'{o}'" for o in options]
    return ", ".join(quoted[:-1]) + f" or {quoted[-1]}" if len(quoted) > 1 else quoted[0]


def check_text(path: str, block: dict[str, Any], where: str) -> None:
    """A text block's `text`: a string, non-empty, not whitespace only."""
    value = block.get("text")
    if not isinstance(value, str):
        raise Invalid(f"{path}.text: Input should be a valid string")
    if value == "":
        raise Invalid(f"{where}: text content blocks must be non-empty")
    if not value.strip():
        raise Invalid(f"{where}: text content blocks must contain non-whitespace text")


def check_cache_control(path: str, block: dict[str, Any]) -> None:
    """A `cache_control` marker, when present: ephemeral, with a 5m or 1h TTL."""
    control = block.get("cache_control")
    if control is None:
        return
    if not isinstance(control, dict) or control.get("type") != "ephemeral":
        raise Invalid(f"{path}.cache_control.type: Input should be 'ephemeral'")
    if control.get("ttl", "5m") not in ("5m", "1h"):
        raise Invalid(f"{path}.cache_control.ttl: Input should be '5m' or '1h'")


def _image_format(data: str) -> str | None:
    """The image format the base64 `data` starts with, if it is one the API knows."""
    try:
        head = base64.b64decode(data[:16] + "=" * (-len(data[:16]) % 4))
    except (binascii.Error, ValueError):
        return None
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return next((kind for magic, kind in _MAGIC if head.startswith(magic)), None)


def _check_source(path: str, kind: str, block: dict[str, Any]) -> None:
    """The `source` of an image or document block, base64 media types and data included."""
    source = block.get("source")
    if not isinstance(source, dict):
        raise Invalid(f"{path}.{kind}.source: Field required")
    tag = source.get("type")
    if tag not in _SOURCES[kind]:
        expected = ", ".join(f"'{t}'" for t in _SOURCES[kind])
        raise Invalid(_UNKNOWN_TAG.format(path=f"{path}.{kind}.source", kind=tag, expected=expected))
    at = f"{path}.{kind}.source.{tag}"
    if tag == "url" and not isinstance(source.get("url"), str):
        raise Invalid(f"{at}.url: Field required")
    if tag == "file" and not isinstance(source.get("file_id"), str):
        raise Invalid(f"{at}.file_id: Field required")
    if tag == "content" and not isinstance(source.get("content"), str | list):
        raise Invalid(f"{at}.content: Input should be a valid string or a valid list")
    if tag not in ("base64", "text"):
        return
    media_type = source.get("media_type")
    allowed = _IMAGE_TYPES if kind == "image" else ("application/pdf",) if tag == "base64" else ("text/plain",)
    if media_type not in allowed:
        raise Invalid(f"{at}.media_type: Input should be {_quoted(allowed)}")
    data = source.get("data")
    if not isinstance(data, str):
        raise Invalid(f"{at}.data: Input should be a valid string")
    found = _image_format(data) if kind == "image" else None
    if found is not None and found != media_type:
        raise Invalid(f"{at}.data: Image does not match the provided media type {media_type}")


def _check_tool_result(path: str, block: dict[str, Any]) -> None:
    if not isinstance(block.get("tool_use_id"), str):
        raise Invalid(f"{path}.tool_result.tool_use_id: Field required")
    nested = block.get("content")
    if nested is not None and not isinstance(nested, str | list):
        raise Invalid(f"{path}.tool_result.content: Input should be a valid string or a valid list")
    if block.get("is_error") is True and not nested:
        raise Invalid(f"{path}.tool_result: content cannot be empty if `is_error` is true")
    for k, inner in enumerate(nested if isinstance(nested, list) else []):
        if not isinstance(inner, dict) or inner.get("type") not in _NESTED_TYPES:
            raise Invalid(_NESTED_TYPE.format(path=path, k=k))
        inner_path = f"{path}.tool_result.content.{k}"
        if inner["type"] == "text":
            check_text(f"{path}.content.{k}.text", inner, "messages")
        elif inner["type"] in _SOURCES:
            _check_source(inner_path, inner["type"], inner)
        check_cache_control(f"{path}.content.{k}", inner)


def check_block(path: str, block: Any, role: str, content_path: str) -> None:
    """One content block of a `role` message at `path` (`content_path`: its message's content)."""
    if not isinstance(block, dict):
        raise Invalid(f"{path}: Input should be a valid dictionary")
    kind = block.get("type")
    lenient = isinstance(kind, str) and (
        kind.endswith(("_tool_result", "_tool_use")) or kind in ("container_upload", "compaction", "tool_reference")
    )
    if kind not in CORE_TYPES and not lenient:
        expected = ", ".join(f"'{t}'" for t in CORE_TYPES)
        raise Invalid(_UNKNOWN_TAG.format(path=path, kind=kind, expected=expected))
    if (kind in _ASSISTANT_ONLY and role != "assistant") or (kind == "tool_result" and role != "user"):
        raise Invalid(f"{path}: `{kind}` blocks are not allowed in `{role}` messages")
    if kind in _USER_ONLY_MEDIA and role == "assistant":
        raise Invalid(f"{content_path}: '{kind}' blocks are not permitted within assistant turns")
    check_cache_control(path, block)
    if kind == "text":
        check_text(f"{path}.text", block, "messages")
    elif kind in _SOURCES:
        _check_source(path, str(kind), block)
    elif kind == "tool_use":
        _check_tool_use(path, block)
    elif kind == "tool_result":
        _check_tool_result(path, block)
    elif kind == "thinking":
        if not isinstance(block.get("thinking"), str):
            raise Invalid(f"{path}.thinking.thinking: Field required")
        if "signature" not in block:
            raise Invalid(f"{path}.thinking.signature: Field required")
        if block["signature"] != thinking_signature(block["thinking"]):
            raise Invalid(f"{path}: Invalid `signature` in `thinking` block")
    elif kind == "redacted_thinking" and not isinstance(block.get("data"), str):
        raise Invalid(f"{path}.redacted_thinking.data: Field required")


def _check_tool_use(path: str, block: dict[str, Any]) -> None:
    if not isinstance(block.get("id"), str) or not _TOOL_USE_ID.match(block["id"]):
        raise Invalid(f"{path}.tool_use.id: String should match pattern '^[a-zA-Z0-9_-]+$'")
    if not isinstance(block.get("name"), str):
        raise Invalid(f"{path}.tool_use.name: Field required")
    if not isinstance(block.get("input"), dict):
        raise Invalid(f"{path}.tool_use.input: Input should be a valid dictionary")
