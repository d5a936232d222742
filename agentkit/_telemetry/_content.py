"""Content for span attributes: Messages API blocks as the GenAI conventions' message parts.

The conventions give `gen_ai.input.messages`, `gen_ai.output.messages` and
`gen_ai.system_instructions` a JSON shape (`{"role", "parts": [{"type": "text", "content"}, ...]}`);
Python span attributes cannot hold nested values, so each is recorded as a JSON string. Binary
data (base64 images, documents) is never recorded: a part keeps its type and media type only.

`fit` keeps an attribute within a byte budget and still valid JSON, so a backend that parses it
does not choke on a cut-off string: long strings are shortened first, then the oldest messages go.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

ELLIPSIS = "…"
_KEEP = 40  # strings this short are never shortened: part types, roles, tool-call ids


def _get(block: Any, key: str) -> Any:
    """`block[key]` for a dict param, `block.key` for an SDK model, None when absent."""
    if isinstance(block, Mapping):
        return block.get(key)
    return getattr(block, key, None)


def parts(content: Any) -> list[dict[str, Any]]:
    """The parts of a message's content: a string, or a list of content blocks."""
    if isinstance(content, str):
        return [{"type": "text", "content": content}]
    if isinstance(content, Iterable):
        return [part(block) for block in content]
    return []


def part(block: Any) -> dict[str, Any]:
    kind = _get(block, "type")
    if kind == "text":
        return {"type": "text", "content": _get(block, "text")}
    if kind == "thinking":
        return {"type": "reasoning", "content": _get(block, "thinking")}
    if kind in ("tool_use", "server_tool_use"):
        return {
            "type": "tool_call",
            "id": _get(block, "id"),
            "name": _get(block, "name"),
            "arguments": _get(block, "input"),
        }
    if kind == "tool_result":
        return {
            "type": "tool_call_response",
            "id": _get(block, "tool_use_id"),
            "response": tool_output(_get(block, "content")),
        }
    if kind in ("image", "document"):
        return _media(kind, _get(block, "source"))
    return {"type": str(kind)}  # redacted thinking, server tool results...: the type, never opaque data


def _media(kind: str, source: Any) -> dict[str, Any]:
    """A picture or a document without its bytes: a URL or file id is kept, base64 data never."""
    source_type = _get(source, "type")
    if source_type == "url":
        return {"type": "uri", "modality": kind, "uri": _get(source, "url")}
    if source_type == "file":
        return {"type": "file", "modality": kind, "file_id": _get(source, "file_id")}
    return {"type": "blob", "modality": kind, "mime_type": _get(source, "media_type")}


def tool_output(content: Any) -> Any:
    """A tool result as recorded: its text when it is text, else its parts."""
    if isinstance(content, str) or content is None:
        return content
    converted = parts(content)
    if all(p["type"] == "text" for p in converted):
        return "".join(str(p["content"]) for p in converted)
    return converted


def system_instructions(system: Any) -> list[dict[str, Any]] | None:
    return None if system is None else parts(system)


def input_messages(messages: Iterable[Any]) -> list[dict[str, Any]]:
    return [{"role": str(_get(m, "role") or "user"), "parts": parts(_get(m, "content"))} for m in messages]


def output_messages(response: Any) -> list[dict[str, Any]]:
    message = {"role": "assistant", "parts": parts(_get(response, "content"))}
    if stop := _get(response, "stop_reason"):
        message["finish_reason"] = stop
    return [message]


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def _size(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


def fit(value: Any, limit: int) -> tuple[str, bool]:
    """`value` as JSON of at most `limit` UTF-8 bytes, and whether anything was cut.

    A plain string is cut and marked with an ellipsis. A list (of messages) keeps its newest items
    whole and drops the oldest; when even the newest alone is too big, or for any other value,
    every long string is capped at the longest length that fits (found by bisection). Only
    capture pays this, and only for oversized values.
    """
    if isinstance(value, str):
        return _cut(value, limit)
    text = dumps(value)
    if _size(text) <= limit:
        return text, False
    if isinstance(value, list) and value:
        kept: list[str] = []
        size = 2  # the brackets
        for item in reversed(value):  # the newest messages say most about this call
            item_text = dumps(item)
            size += _size(item_text) + (1 if kept else 0)
            if size > limit:
                break
            kept.append(item_text)
        if kept:
            return "[" + ",".join(reversed(kept)) + "]", True
        value = value[-1:]
    low, high = 0, _longest(value)
    while low < high:  # the largest cap that fits
        mid = (low + high + 1) // 2
        if _size(dumps(_capped(value, mid))) <= limit:
            low = mid
        else:
            high = mid - 1
    text = dumps(_capped(value, low))
    return (text if _size(text) <= limit else _cut(text, limit)[0]), True


def _cut(text: str, limit: int) -> tuple[str, bool]:
    if _size(text) <= limit:
        return text, False
    cut = text.encode("utf-8", "surrogatepass")[: max(limit - len(ELLIPSIS.encode()), 0)]
    return cut.decode("utf-8", "ignore") + ELLIPSIS, True


def _longest(value: Any) -> int:
    if isinstance(value, str):
        return len(value)
    if isinstance(value, Mapping):
        return max((_longest(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return max((_longest(v) for v in value), default=0)
    return 0


def _capped(value: Any, cap: int) -> Any:
    if isinstance(value, str):  # short strings (types, roles, ids) stay whole
        return value if len(value) <= max(cap, _KEEP) else value[:cap] + ELLIPSIS
    if isinstance(value, Mapping):
        return {k: _capped(v, cap) for k, v in value.items()}
    if isinstance(value, list):
        return [_capped(v, cap) for v in value]
    return value
