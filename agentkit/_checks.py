"""Input checks run before any request: a prompt or a history the Messages API would refuse.

Pure functions over plain data (no SDK import), raising `InputError` with the place (`prompt[1]`,
`history[3].content[0]`) and the fix, so a bad input fails at once instead of coming back as an
`APIError` after a round trip (issue 13 R), and text Python cannot encode as UTF-8 never reaches
the SDK as an untyped `UnicodeEncodeError` (issue 14.6).

- `check_prompt(prompt)`: a string or a list of content blocks; not empty or whitespace-only; no
  lone surrogates anywhere in it.
- `check_history(messages)`: `user`/`assistant` messages only, never two assistant turns in a row;
  every `tool_result` answers a `tool_use` of the assistant message just before it, and comes
  before any other block of its user message; every `tool_use` is answered by the next message
  (one in the last message may still be waiting for its result); no lone surrogates, nested
  content included.
- `find_surrogate(value)` and `block_problem(block)` serve the tool results too (`agentkit.tools`).

The API's own rules these mirror are those `agentkit.testing`'s validator enforces (see
`agentkit/testing/_validate.py` and `_blocks.py` for what each relies on).
"""

from __future__ import annotations

import json
import re
from collections import deque
from collections.abc import Mapping, Sequence
from typing import Any

from ._history import grown
from .errors import InputError

__all__ = ["block_problem", "check_history", "check_prompt", "find_surrogate", "forget_checked", "remember_checked"]

_SURROGATE = re.compile("[\ud800-\udfff]")
_IMAGE_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")
_SURROGATE_FIX = (
    "it cannot be encoded as UTF-8, so it cannot be sent; remove it, or decode the input with "
    "errors='replace' (text read with errors='surrogateescape' or from a broken terminal carries these)"
)


def find_surrogate(value: Any, path: str = "") -> tuple[str, int, str] | None:
    """The first lone surrogate in `value` (strings inside dicts, lists and tuples included).

    Args:
        value: Any plain data: a string, or containers of strings.
        path: The place of `value`, prefixed to the path returned.

    Returns:
        `(path, index, character)`: where the string holding it is (`.content[0].text`), the index
        of the character in that string, and the character; None when there is none.
    """
    if isinstance(value, str):
        found = _SURROGATE.search(value)
        return (path, found.start(), found.group()) if found else None
    if isinstance(value, Mapping):
        items: Any = ((f"{path}.{key}", item) for key, item in value.items())
    elif isinstance(value, list | tuple):
        items = ((f"{path}[{k}]", item) for k, item in enumerate(value))
    else:
        return None
    for where, item in items:
        hit = find_surrogate(item, where)
        if hit is not None:
            return hit
    return None


def _no_surrogate(value: Any, path: str, *, offset: int = 0) -> None:
    """Raise for the first lone surrogate in `value`; a list `value` that starts at index `offset`
    of the history names its items by their place there."""
    if not _may_hold_surrogate(value):
        return
    hit = None
    if offset:
        for k, item in enumerate(value):
            if (hit := find_surrogate(item, f"{path}[{offset + k}]")) is not None:
                break
    else:
        hit = find_surrogate(value, path)
    if hit is not None:
        where, index, char = hit
        raise InputError(f"{where}: a lone surrogate U+{ord(char):04X} at character {index}; {_SURROGATE_FIX}")


def _may_hold_surrogate(value: Any) -> bool:
    """False when `value` surely holds no lone surrogate: one C-speed pass (its JSON text encodes as
    UTF-8), where walking it in Python to find one costs ten times as much on a long history."""
    try:
        json.dumps(value, ensure_ascii=False, check_circular=False, default=_as_data).encode()
    except UnicodeEncodeError:
        return True
    except (TypeError, ValueError, RecursionError):  # keys JSON cannot take: let the walk decide
        return True
    return False


def _as_data(value: Any) -> Any:
    """What `find_surrogate` walks in a value JSON cannot encode: a mapping's items; nothing else."""
    return dict(value) if isinstance(value, Mapping) else None


def _blank(value: Any) -> bool:
    return isinstance(value, str) and not value.strip()


def block_problem(block: Any) -> str | None:
    """What makes `block` an invalid text, image, document or search_result block, or None.

    Checks the fields the API requires (and refuses extra ones): text needs non-blank `text`;
    image and document need a `source` (base64 with a media type the API takes and `data`, or a
    url, file, text or content source); search_result needs `source`, `title` and text `content`.

    Args:
        block: A content block as a dict.
    """
    if not isinstance(block, Mapping):
        return "not a JSON object"
    kind = block.get("type")
    allowed = {
        "text": {"type", "text", "citations", "cache_control"},
        "image": {"type", "source", "cache_control"},
        "document": {"type", "source", "title", "context", "citations", "cache_control"},
        "search_result": {"type", "source", "title", "content", "citations", "cache_control"},
    }.get(str(kind))
    if allowed is None:
        return f"type {kind!r} is not one of 'text', 'image', 'document', 'search_result'"
    extra = sorted(set(block) - allowed)
    if extra:
        return f"a {kind} block takes no {', '.join(map(repr, extra))}"
    if kind == "text":
        text = block.get("text")
        return None if isinstance(text, str) and text.strip() else "a text block needs non-empty 'text'"
    if kind == "search_result":
        content = block.get("content")
        if not isinstance(block.get("source"), str) or not isinstance(block.get("title"), str):
            return "a search_result block needs 'source' and 'title' strings"
        if not isinstance(content, list) or not content or any(block_problem(c) for c in content):
            return "a search_result block needs 'content': a list of text blocks"
        return None
    return _source_problem(str(kind), block.get("source"))


def _a(kind: str) -> str:
    return f"an {kind}" if kind[0] in "aeiou" else f"a {kind}"


def _source_problem(kind: str, source: Any) -> str | None:
    if not isinstance(source, Mapping):
        return f"{_a(kind)} block needs a 'source' object"
    tag = source.get("type")
    needs = {"base64": "data", "url": "url", "file": "file_id", "text": "data", "content": "content"}
    if tag not in needs or (kind == "image" and tag in ("text", "content")):
        return f"{_a(kind)} source of type {tag!r} is not one the API takes"
    if not isinstance(source.get(needs[str(tag)]), str | list):
        return f"{_a(kind)} source of type {tag!r} needs {needs[str(tag)]!r}"
    media_type = source.get("media_type")
    if tag == "base64":
        allowed = _IMAGE_TYPES if kind == "image" else ("application/pdf",)
        if media_type not in allowed:
            return f"{_a(kind)} of media_type {media_type!r} is not one of {', '.join(allowed)}"
    if tag == "text" and media_type != "text/plain":
        return f"a text document needs media_type 'text/plain', not {media_type!r}"
    return None


def check_prompt(prompt: Any) -> None:
    """Raise `InputError` for a prompt the API would refuse or that cannot be encoded.

    Args:
        prompt: What `agent.run()` was given: a string, or a list of content blocks.
    """
    if isinstance(prompt, str):
        if not prompt.strip():
            what = "empty" if not prompt else "whitespace only"
            raise InputError(
                f"prompt: the prompt is {what}, and the API refuses a user message without text; "
                "pass the question or task, e.g. agent.run('Summarise this ticket')"
            )
    elif isinstance(prompt, Sequence) and not isinstance(prompt, bytes | bytearray):
        if not prompt:
            raise InputError(
                "prompt: the list of content blocks is empty; pass at least one block, e.g. "
                "[{'type': 'text', 'text': 'Describe this image'}, {'type': 'image', ...}]"
            )
        for k, block in enumerate(prompt):
            if isinstance(block, Mapping) and block.get("type") == "text" and _blank(block.get("text")):
                raise InputError(
                    f"prompt[{k}]: a text block with no text (empty or whitespace only), which the API "
                    "refuses; give it text or leave the block out"
                )
    else:
        raise InputError(
            f"prompt: expected a string or a list of content blocks, got {type(prompt).__name__}; "
            "pass text, or blocks such as [{'type': 'text', 'text': '...'}]"
        )
    _no_surrogate(prompt, "prompt")


def _blocks(message: Mapping[str, Any]) -> list[Any]:
    content = message.get("content")
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    return list(content) if isinstance(content, list | tuple) else []


def _plain(value: Any) -> Any:
    """A message as plain data: SDK models (anything with `model_dump`) in it become dicts."""
    if type(value) is dict:
        content = value.get("content")
        if type(content) is not list or all(type(block) is dict for block in content):
            return value  # already plain: nothing to copy
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return dump(mode="json", exclude_none=True)
    if isinstance(value, Mapping) and isinstance(value.get("content"), list | tuple):
        return {**value, "content": [_plain(block) for block in value["content"]]}
    return value


def check_history(messages: Any) -> None:
    """Raise `InputError` for a `history=` the API would refuse or that cannot be encoded.

    Consecutive user messages count as one turn, as the API merges them: the results of one
    assistant turn may be spread over them, all before any other block.

    Args:
        messages: The history: a list of Messages API message params (`{"role", "content"}`).
    """
    if isinstance(messages, str | bytes) or not isinstance(messages, Sequence):
        raise InputError(
            f"history: expected a list of messages, got {type(messages).__name__}; pass a previous "
            "result's messages, e.g. history=result.messages"
        )
    seen = _seen(messages)
    if seen == len(messages):
        return  # this very list, as it was when checked (or as a run left it)
    plain = [_plain(m) for m in messages]
    _check_shapes(plain)
    _no_surrogate(plain[seen:], "history", offset=seen)  # one pass over what was not checked
    turn = _Turn()
    for i, message in enumerate(plain):
        role = message["role"]
        if role == "user":
            turn.answer(i, _blocks(message))
        else:
            turn.close(i)
            turn = _Turn(i, _blocks(message))
    if turn.caller is not None and turn.caller != len(plain) - 1:
        turn.close(len(plain))  # the last message's calls may still wait; earlier ones may not
    remember_checked(messages)


_CHECKED: deque[tuple[Sequence[Any], int, Any]] = deque(maxlen=4)
"""Plain lists checked, as (list, length, last message): a history reused run after run (examples,
say) is not walked again. Held, not keyed by `id()`, so an entry cannot be mistaken for a new list;
four at most. A run's own `History` needs no entry: it carries its mark."""


def remember_checked(messages: Sequence[Any]) -> None:
    """`messages` is a valid history as it stands."""
    if not messages:
        return
    if hasattr(messages, "checked"):  # a run's History: the mark goes on the list
        messages.checked = (len(messages), messages[-1])
    else:
        _CHECKED.append((messages, len(messages), messages[-1]))


def forget_checked() -> None:
    """Forget every history checked (tests start with none)."""
    _CHECKED.clear()


def _seen(messages: Sequence[Any]) -> int:
    """How many of the first messages of `messages` were checked already (the list only grew since):
    a run's `History` says so itself; another list is looked up among the last few checked."""
    valid_prefix = getattr(messages, "valid_prefix", None)
    if valid_prefix is not None and (known := valid_prefix()):
        return int(known)
    for known, count, last in reversed(_CHECKED):
        n: int = count
        if known is messages and grown(messages, n, last):
            return n
    return 0


def _check_shapes(plain: list[Any]) -> None:
    for i, message in enumerate(plain):
        _check_message(i, message, plain)


def _check_message(i: int, message: Any, plain: list[Any]) -> None:
    """Check the shape and the role of message `i`."""
    if not isinstance(message, Mapping) or "role" not in message or "content" not in message:
        raise InputError(
            f"history[{i}]: expected a message {{'role': ..., 'content': ...}}, got {_short(message)}; "
            "each message needs a role ('user' or 'assistant') and content"
        )
    role = message["role"]
    if role not in ("user", "assistant"):
        fix = "pass the system prompt as system=, not in the history" if role == "system" else ""
        raise InputError(
            f"history[{i}]: role {role!r} is not one the Messages API takes ('user' or 'assistant'); "
            + (fix or "use 'user' for what the user or a tool said, 'assistant' for the model's turns")
        )
    if not isinstance(message["content"], str | list | tuple):
        raise InputError(
            f"history[{i}].content: expected a string or a list of content blocks, got "
            f"{type(message['content']).__name__}"
        )
    if role == "assistant" and i > 0 and plain[i - 1].get("role") == "assistant":
        raise InputError(
            f"history[{i}]: two assistant messages in a row (history[{i - 1}] and history[{i}]); "
            "merge their content into one message, or put the user's message between them"
        )


class _Turn:
    """The tool calls of one assistant message and the user messages answering them."""

    def __init__(self, caller: int | None = None, blocks: Sequence[Any] = ()) -> None:
        self.caller = caller
        self.uses = {
            b["id"]: j
            for j, b in enumerate(blocks)
            if isinstance(b, Mapping) and b.get("type") == "tool_use" and isinstance(b.get("id"), str)
        }
        self.answered: set[Any] = set()
        self.other: tuple[int, int] | None = None  # the first block that is not a tool_result

    def answer(self, i: int, blocks: list[Any]) -> None:
        for j, block in enumerate(blocks):
            if not (isinstance(block, Mapping) and block.get("type") == "tool_result"):
                self.other = self.other or (i, j)
                continue
            if self.other is not None:
                oi, oj = self.other
                raise InputError(
                    f"history[{i}].content[{j}]: a tool_result after another block (history[{oi}].content[{oj}]); "
                    "put every tool_result first in the user message, then any text"
                )
            use_id = block.get("tool_use_id")
            if use_id not in self.uses:
                before = "(no assistant message precedes it)"
                if self.caller is not None:
                    before = f"of history[{self.caller}]"
                raise InputError(
                    f"history[{i}].content[{j}]: tool_result for {use_id!r} answers no tool_use {before}; "
                    "each tool_result must answer a tool_use of the assistant message just before it: "
                    "remove it, or restore the assistant turn that called the tool"
                )
            self.answered.add(use_id)

    def close(self, i: int) -> None:
        """Message `i` ends the turn: every call must have been answered before it."""
        missing = [(j, use_id) for use_id, j in self.uses.items() if use_id not in self.answered]
        if missing:
            j, use_id = missing[0]
            raise InputError(
                f"history[{self.caller}].content[{j}]: tool_use {use_id!r} has no tool_result in the user "
                f"message after it; answer it there, first in the message: {{'type': 'tool_result', "
                f"'tool_use_id': {use_id!r}, 'content': '...'}}, or drop the call from the history"
            )


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
