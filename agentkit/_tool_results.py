"""What a tool's return value becomes in its `tool_result`: text, valid content blocks, or JSON.

Every result is one the Messages API takes and that can be encoded, whatever the tool returned:
- a string is sent as it is; a list of content blocks only if every block is valid
  (`agentkit._checks.block_problem`: text, image, document and search_result blocks with their
  required fields and nothing else), empty text blocks left out; anything else as JSON text, so
  `[{"type": "text", "value": 3}]` reaches the model as the JSON it is (issue 14.7);
- a value holding a lone surrogate (text Python cannot encode as UTF-8) becomes an error result
  saying so, never a `UnicodeEncodeError` in the SDK or a session that cannot be saved (14.6);
- an error result is never empty: the API refuses `is_error` with empty content ("content cannot
  be empty if `is_error` is true", quoted in public issue reports), so `raise ToolError("")` sends
  a short message instead (13 F); lone surrogates in error text become U+FFFD.
"""

from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING, Any

from ._checks import block_problem, find_surrogate

if TYPE_CHECKING:
    from pydantic import TypeAdapter

__all__ = ["content_of", "error_text"]

Content = str | list[dict[str, Any]]
_CONTENT_BLOCK_TYPES = frozenset({"text", "image", "document", "search_result"})
_SURROGATE = re.compile("[\ud800-\udfff]")


def error_text(tool: str, message: str) -> str:
    """`message` as the content of an error result: never empty, always encodable.

    Args:
        tool: The tool's name, for the message that stands in for an empty one.
        message: What the tool (or agentkit) said went wrong.
    """
    if not message.strip():
        return f"Tool '{tool}' failed without saying why (it raised an error with an empty message)."
    return _SURROGATE.sub("\ufffd", message)


def content_of(tool: str, value: Any) -> tuple[Content, bool, str | None]:
    """The content of the result of `tool` returning `value`, whether it is an error, and what to log.

    Args:
        tool: The tool's name, for the messages of error results.
        value: What the tool's function returned.

    Returns:
        `(content, is_error, warning)`: the `tool_result` content; True when the value could not
        be sent (then the content says why); the name of a warning event to log, or None.
    """
    hit = find_surrogate(value)  # before serialising: pydantic would raise on it
    if hit is not None:
        return _unencodable(tool, hit[0], hit[1], hit[2]), True, "tool_result_unencodable"
    if isinstance(value, str):
        return value, False, None
    if _looks_like_blocks(value):
        blocks = [b for b in value if not (b.get("type") == "text" and _blank(b.get("text")))]
        if not blocks:
            return f"Tool '{tool}' returned no content (only empty text).", False, None
        if all(block_problem(b) is None for b in blocks):
            return blocks, False, None
        warning: str | None = "tool_result_blocks_invalid"  # sent as the JSON it is, below
    else:
        warning = None
    from pydantic import BaseModel  # here: a plain text result needs no pydantic
    from pydantic_core import PydanticSerializationError

    try:
        if isinstance(value, BaseModel):
            return value.model_dump_json(), False, warning
        return _any_adapter().dump_json(value).decode(), False, warning
    except PydanticSerializationError as exc:
        if "surrogates not allowed" in str(exc):  # inside a model or object find_surrogate cannot walk
            return _unencodable(tool, "", None, None), True, "tool_result_unencodable"
        return _unserialisable(tool, value), True, "tool_result_unserialisable"
    except (ValueError, TypeError):
        return _unserialisable(tool, value), True, "tool_result_unserialisable"


def _looks_like_blocks(value: Any) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(v, dict) and v.get("type") in _CONTENT_BLOCK_TYPES for v in value)
    )


def _blank(text: Any) -> bool:
    return isinstance(text, str) and not text.strip()


def _unencodable(tool: str, where: str, index: int | None, char: str | None) -> str:
    place = f" at {where.lstrip('.') or 'the result'}, character {index} (U+{ord(char):04X})" if char else ""
    return (
        f"Tool '{tool}' returned text that is not valid Unicode (a lone surrogate{place}), so it cannot be "
        "sent. The tool must return valid text, e.g. decode bytes with errors='replace'."
    )


def _unserialisable(tool: str, value: Any) -> str:
    return (
        f"Tool '{tool}' returned a {type(value).__name__} that cannot be serialised to JSON; "
        "return str, a pydantic model, or JSON-able data."
    )


@functools.cache
def _any_adapter() -> TypeAdapter[Any]:
    from pydantic import TypeAdapter

    return TypeAdapter(Any)
