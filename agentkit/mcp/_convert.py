"""Pure translations between MCP and the Messages API: tool names, argument checks, call results.

Nothing here talks to a server, so each rule is tested on plain data. Content blocks are read by
their `type` tag rather than by class, so a block type a later MCP revision adds degrades to a
short text note instead of an exception.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from jsonschema import Draft202012Validator, SchemaError
from jsonschema.protocols import Validator
from jsonschema.validators import validator_for

__all__ = [
    "SchemaError",
    "api_name",
    "check_arguments",
    "error_message",
    "input_schema",
    "make_validator",
    "to_content",
]

_INVALID = re.compile(r"[^a-zA-Z0-9_-]")
_IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
_MAX_ERRORS = 10  # field errors sent back per call: enough to fix a call, few enough to stay cheap


def api_name(prefix: str | None, name: str) -> str:
    """The name the model sees: the prefix as given (e.g. "files_") and the server's name, with the
    characters the API refuses (`.`, `/`, spaces) replaced by `_`, cut to the API's 128."""
    full = f"{prefix or ''}{name}"
    return _INVALID.sub("_", full)[:128] or "_"


def input_schema(schema: Mapping[str, Any] | None) -> dict[str, Any]:
    """The server's input schema as the API takes it: always an object schema."""
    out = dict(schema or {})
    out.setdefault("type", "object")
    if out["type"] == "object":
        out.setdefault("properties", {})
    return out


def make_validator(schema: dict[str, Any]) -> Validator:
    """A validator for `schema` in the dialect it declares (JSON Schema 2020-12 by default, as MCP says).

    Raises:
        jsonschema.SchemaError: The schema itself is invalid.
    """
    cls = validator_for(schema, default=Draft202012Validator)
    cls.check_schema(schema)
    return cls(schema)


def check_arguments(validator: Validator, arguments: Any, tool: str) -> str | None:
    """Field-level problems with `arguments`, as a message the model can act on; None if they are valid."""
    errors = sorted(validator.iter_errors(arguments), key=lambda e: [str(p) for p in e.absolute_path])
    if not errors:
        return None
    lines = [f"Invalid arguments for tool '{tool}':"]
    for err in errors[:_MAX_ERRORS]:
        where = _path(err.absolute_path)
        message = err.message if len(err.message) <= 200 else err.message[:197] + "..."
        lines.append(f"- {where}: {message}")
    if len(errors) > _MAX_ERRORS:
        lines.append(f"- ... and {len(errors) - _MAX_ERRORS} more")
    lines.append("Fix these and call the tool again.")
    return "\n".join(lines)


def _path(parts: Iterable[Any]) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(input)"


def to_content(content: Iterable[Any], structured: Any) -> str | list[dict[str, Any]]:
    """A successful `CallToolResult` as `tool_result` content: one string when the result is a single
    text, else a list of text and image blocks. `structuredContent` becomes JSON text when the result
    has no text of its own; otherwise the text is its rendering already (servers are asked to send
    both), and sending both would pay for the same data twice."""
    blocks = [_block(item) for item in content]
    if structured is not None and not any(b["type"] == "text" for b in blocks):
        blocks.append({"type": "text", "text": json.dumps(structured, ensure_ascii=False)})
    if not blocks:
        return ""
    if len(blocks) == 1 and blocks[0]["type"] == "text":
        return str(blocks[0]["text"])
    return blocks


def error_message(content: Iterable[Any], structured: Any, tool: str) -> str:
    """The message of an `isError` result: its text (images and other blocks described in words)."""
    texts = [b["text"] if b["type"] == "text" else f"[{b['type']}]" for b in map(_block, content)]
    if not texts and structured is not None:
        texts = [json.dumps(structured, ensure_ascii=False)]
    return "\n".join(texts) or f"MCP tool '{tool}' reported an error without a message."


def _block(item: Any) -> dict[str, Any]:
    kind = getattr(item, "type", None)
    if kind == "text":
        return {"type": "text", "text": item.text}
    if kind == "image":
        return _image(item.data, item.mime_type, "image")
    if kind == "resource":
        return _resource(item.resource)
    if kind == "resource_link":
        about = f": {item.description}" if getattr(item, "description", None) else ""
        return {"type": "text", "text": f"[resource link {item.name} <{item.uri}>{about}]"}
    if kind == "audio":
        return {"type": "text", "text": f"[audio ({item.mime_type}) omitted: the Messages API takes no audio]"}
    return {"type": "text", "text": f"[{kind or type(item).__name__} content omitted]"}


def _image(data: str, mime_type: str | None, what: str) -> dict[str, Any]:
    if mime_type in _IMAGE_TYPES:
        return {"type": "image", "source": {"type": "base64", "media_type": mime_type, "data": data}}
    return {
        "type": "text",
        "text": f"[{what} of type {mime_type or 'unknown'} omitted: the API takes jpeg, png, gif and webp]",
    }


def _resource(resource: Any) -> dict[str, Any]:
    uri = str(getattr(resource, "uri", ""))
    text = getattr(resource, "text", None)
    if isinstance(text, str):
        return {"type": "text", "text": f"[resource {uri}]\n{text}" if uri else text}
    mime_type = getattr(resource, "mime_type", None)
    if mime_type in _IMAGE_TYPES:
        return _image(resource.blob, mime_type, "resource")
    return {"type": "text", "text": f"[binary resource {uri} ({mime_type or 'unknown type'}) omitted]"}
