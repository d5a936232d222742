"""Messages to rows and back: one JSON text per message, checked on the way in and on the way out.

Encoding refuses what could not be read back (a lone surrogate, which UTF-8 cannot hold) before
anything is written; decoding turns a row that is not JSON, or not shaped like a message, into an
error naming the session, the message's position and the fix.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

from ..errors import InputError

if TYPE_CHECKING:
    from anthropic.types import MessageParam

_ROLES = ("user", "assistant")


def encode(session_id: str, index: int, message: MessageParam) -> tuple[str, bytes]:
    """A message's row: its JSON text and a digest of it, or `InputError` if it cannot be stored."""
    try:
        text = json.dumps(message, ensure_ascii=False, separators=(",", ":"))
        data = text.encode("utf-8")
    except UnicodeEncodeError:
        where = _unencodable(message) or "a string"
        raise InputError(
            f"Session {session_id!r}: message {index} cannot be saved: {where} holds a lone surrogate, "
            "which UTF-8 cannot encode (often text decoded with errors='surrogateescape'); nothing was saved. "
            "Clean the text first, e.g. text.encode('utf-8', 'replace').decode()"
        ) from None
    except (TypeError, ValueError) as exc:
        raise InputError(
            f"Session {session_id!r}: message {index} cannot be saved as JSON ({exc}); nothing was saved. "
            "A history holds only Messages API params: dicts, lists, strings, numbers, booleans and None"
        ) from None
    return text, digest(data)


def check_id(kind: str, value: str) -> None:
    """`InputError` for an id that is not a string UTF-8 can encode (one from undecodable argv bytes)."""
    if not isinstance(value, str):
        raise InputError(f"A {kind} id must be a string, got {type(value).__name__} {value!r}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InputError(
            f"The {kind} id {value!r} holds a lone surrogate (bytes that are not UTF-8, from the command line "
            "or a file name?); use an id of plain text"
        ) from None


def digest(data: bytes) -> bytes:
    """A short fingerprint of a stored message, to tell an appended history from a rewritten one."""
    return hashlib.blake2b(data, digest_size=16).digest()


def decode(session_id: str, index: int, text: str) -> tuple[MessageParam | None, str | None]:
    """A stored row's message, or (None, what is wrong with it)."""
    try:
        message = json.loads(text)
    except ValueError as exc:
        return None, f"message {index} is not valid JSON ({exc.args[0]}; {len(text)} characters, truncated?)"
    problem = shape_problem(message)
    if problem:
        return None, f"message {index} is not a message: {problem}"
    return message, None


def shape_problem(message: Any) -> str | None:
    """What makes `message` not a Messages API message param, or None."""
    if not isinstance(message, dict):
        return f"expected an object with 'role' and 'content', got {type(message).__name__}"
    if message.get("role") not in _ROLES:
        return f"role is {message.get('role')!r}, expected 'user' or 'assistant'"
    content = message.get("content")
    if isinstance(content, str):
        return None
    if not isinstance(content, list):
        return f"content is {type(content).__name__}, expected a string or a list of blocks"
    for i, block in enumerate(content):
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            return f"content[{i}] is not a block with a 'type'"
    return None


def tool_result_ids(message: MessageParam) -> list[str]:
    """The `tool_use_id`s a user message answers."""
    content = message.get("content")
    if message.get("role") != "user" or not isinstance(content, list):
        return []
    return [
        block["tool_use_id"]
        for block in content
        if isinstance(block, dict) and block.get("type") == "tool_result" and isinstance(block.get("tool_use_id"), str)
    ]


def describe(messages: list[MessageParam], start: int) -> str:
    """`messages[start:]` in a few words, for an error that says what was not saved."""
    if not messages[start:]:
        return "nothing"
    parts = []
    for offset, message in enumerate(messages[start:]):
        parts.append(f"{start + offset} ({message.get('role', '?')}{_first_text(message)})")
    return f"message{'s' if len(parts) > 1 else ''} " + ", ".join(parts[:5]) + (", ..." if len(parts) > 5 else "")


def _first_text(message: MessageParam) -> str:
    content: Any = message.get("content")
    text = content if isinstance(content, str) else None
    if isinstance(content, list):
        for block in content:
            if isinstance(block, dict) and block.get("type") == "text" and isinstance(block.get("text"), str):
                text = block["text"]
                break
            if isinstance(block, dict) and block.get("type") in ("tool_use", "tool_result"):
                text = f"[{block['type']}]"
                break
    if not text:
        return ""
    text = text if len(text) <= 40 else text[:39] + "…"
    return f": {text!r}"


def _unencodable(value: Any, where: str = "") -> str | None:
    """The path (`content[0].text`) of the first string UTF-8 cannot encode."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            return f"{where or 'the message'} (character {exc.start})"
        return None
    items: Any = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        if isinstance(key, str) and _unencodable(key) is not None:
            return f"a key of {where or 'the message'}"
        found = _unencodable(item, f"{where}.{key}" if isinstance(key, str) else f"{where}[{key}]")
        if found:
            return found.lstrip(".")
    return None
