"""Local sizes of messages, system prompts and tools: the cheap estimate that calibration scales.

A message's size is its characters over four plus flat framing per block, role and tool call (no
tokenizer ships for Claude; `TokenCounter` in `agentkit._loop.tokens` calibrates these units on the
API's exact counts). `Facts` keeps a list's per-message sizes, prefix sums and flags, so trimming and
breakpoint placement never walk the messages again; `Sized` memoises them by message for one run.
"""

from __future__ import annotations

import json
import math
import operator
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import accumulate, repeat
from typing import Any, Protocol

__all__ = [
    "ASSISTANT",
    "FRAMING_DOUBT",
    "LOCAL",
    "MARKED",
    "PROMPT",
    "Facts",
    "Measure",
    "Sized",
    "extend",
    "facts",
    "local_size",
    "message_size",
    "overhead_size",
    "sliced",
    "tool_blocks",
]

IMAGE_TOKENS = 1_600  # an image near the 1.15-megapixel cap; a PDF page costs about as much
_CHARS_PER_TOKEN = 4
_BLOCK_TOKENS = 3  # framing per content block (its type); calibration absorbs the error
_TOOL_FRAMING = 12
"""More framing per tool_use and tool_result block: the call id (~30 characters) and the fields around
it. Calibration cannot absorb it: a turn of several short results weighs far more per character
than the prose that set the scale, and was estimated well outside its error."""
FRAMING_DOUBT = _TOOL_FRAMING
"""How far off the framing of one tool block may be, in local units: it is a fixed guess that the
scale, set by the prose around it, does not calibrate (a call id tokenizes far worse than prose). An
estimate allows all of it as error for each tool block it did not count exactly, so a turn of many
short results is counted exactly near a limit rather than taken at the prose's rate (for a prompt
estimated whole, before any exact count of its history, only usage limits do: `Estimate.framing`)."""
_MESSAGE_TOKENS = 4  # framing per message (role)


def _json_length(value: Any) -> int:
    """The length of `value` as JSON, roughly: `repr` writes the same separators, and differs only
    in escapes and in what JSON cannot hold (an estimate, calibrated like the rest), at a quarter of
    the cost of an encoder call, which builds its C encoder afresh each time. Sizing a long history
    is mostly this, once per tool call."""
    return len(repr(value))


PROMPT, ASSISTANT, MARKED = 1, 2, 4  # message flags: a turn-starting user message, an assistant one, has markers
_TOOLS_AT = 3  # above the flags, a message's count of tool blocks (at most _MAX_TOOLS)
_SHIFT = 16  # above those, its size
_MAX_TOOLS = (1 << (_SHIFT - _TOOLS_AT)) - 1
_FLAGS = (1 << _SHIFT) - 1  # the flags and the tool blocks
_FRAMED = ("tool_use", "server_tool_use", "tool_result")  # a tuple: `in` compares, so a bad type cannot raise


def tool_blocks(flags: int) -> int:
    """The tool blocks of a message, from its flags in `Facts.flags`."""
    return flags >> _TOOLS_AT


def _chars(block: Mapping[str, Any]) -> tuple[int, int]:
    """(characters, flat tokens) a content block contributes."""
    kind = block.get("type")
    if kind == "text":
        return len(block.get("text") or ""), 0
    if kind == "tool_use" or kind == "server_tool_use":
        return len(str(block.get("name", ""))) + _json_length(block.get("input")), _TOOL_FRAMING
    if kind == "tool_result":
        content = block.get("content")
        if isinstance(content, str):
            return len(content), _TOOL_FRAMING
        chars, flat = 0, _TOOL_FRAMING
        for inner in content or ():
            c, f = _chars(inner) if isinstance(inner, Mapping) else (len(str(inner)), 0)
            chars, flat = chars + c, flat + f
        return chars, flat
    if kind == "thinking":
        return len(block.get("thinking") or ""), 0
    source = block.get("source")
    if kind in ("image", "document"):
        if isinstance(source, Mapping) and source.get("type") == "text":
            return len(str(source.get("data", ""))), 0
        return 0, IMAGE_TOKENS
    return _json_length(block), 0


def local_size(content: Any) -> int:
    """The local estimate, in tokens before calibration, of a string or a list of content blocks."""
    if isinstance(content, str):
        return math.ceil(len(content) / _CHARS_PER_TOKEN) + _BLOCK_TOKENS
    chars = flat = blocks = 0
    for block in content or ():
        c, f = _chars(block) if isinstance(block, Mapping) else (len(str(block)), 0)
        chars, flat, blocks = chars + c, flat + f, blocks + 1
    return math.ceil(chars / _CHARS_PER_TOKEN) + flat + blocks * _BLOCK_TOKENS


def message_size(message: Mapping[str, Any]) -> int:
    """The local estimate of one message (at least 1)."""
    return local_size(message.get("content")) + _MESSAGE_TOKENS


def overhead_size(params: Mapping[str, Any], memo: dict[int, tuple[Any, int]] | None = None) -> int:
    """The local estimate of everything in a request besides its messages: system prompt and tools.

    With `memo` (a run's), each tool definition is sized once: the loop sends the same dicts each turn.
    """
    size = 0
    system = params.get("system")
    if system:
        size += local_size(system)
    for tool in params.get("tools") or ():
        entry = memo.get(id(tool)) if memo is not None else None
        if entry is None or entry[0] is not tool:
            entry = (tool, math.ceil(len(json.dumps(tool, ensure_ascii=False, default=str)) / _CHARS_PER_TOKEN))
            if memo is not None:
                memo[id(tool)] = entry
        size += entry[1]
    return size


def _packed(message: Mapping[str, Any]) -> int:
    """`message_size(message) << _SHIFT`, its tool blocks and its flags, in one pass over its blocks.

    The first request of a long history sizes every message: this is the loop that costs, so the
    common block types are sized inline, with as few dictionary look-ups as each needs.
    """
    role, content = message.get("role"), message.get("content")
    flags = ASSISTANT if role == "assistant" else 0
    if not isinstance(content, list):
        if isinstance(content, str):
            size = math.ceil(len(content) / _CHARS_PER_TOKEN) + _BLOCK_TOKENS + _MESSAGE_TOKENS
            return size << _SHIFT | (flags | PROMPT if role == "user" else flags)
        return _packed_other(message, flags)
    chars = flat = tools = 0
    answers = marked = False
    for block in content:
        if type(block) is not dict and not isinstance(block, Mapping):
            chars += len(str(block))
            continue
        get = block.get
        kind = get("type")
        if kind == "text":
            chars += len(get("text") or "")
        elif kind == "tool_use":
            name = get("name", "")
            chars += len(name if type(name) is str else str(name)) + _json_length(get("input"))
            flat += _TOOL_FRAMING
            tools += 1
        else:
            nested = get("content")
            if kind == "tool_result" and type(nested) is str:
                chars += len(nested)
                flat += _TOOL_FRAMING
            else:
                c, f = _chars(block)
                chars, flat = chars + c, flat + f
                if not marked and type(nested) is list:
                    marked = any(isinstance(b, Mapping) and b.get("cache_control") for b in nested)
            if kind in _FRAMED:
                tools += 1
                answers = answers or kind == "tool_result"
        if not marked and get("cache_control") is not None:
            marked = True
    size = math.ceil(chars / _CHARS_PER_TOKEN) + flat + len(content) * _BLOCK_TOKENS + _MESSAGE_TOKENS
    if role == "user" and not answers:
        flags |= PROMPT
    return size << _SHIFT | min(tools, _MAX_TOOLS) << _TOOLS_AT | (flags | MARKED if marked else flags)


def _packed_other(message: Mapping[str, Any], flags: int) -> int:
    """`_packed` for content that is neither a string nor a list (a tuple of blocks, None): no markers."""
    content = message.get("content")
    blocks = list(content) if isinstance(content, Sequence) else []
    size = local_size(blocks) + _MESSAGE_TOKENS
    kinds = [b.get("type") for b in blocks if isinstance(b, Mapping)]
    tools = sum(1 for kind in kinds if kind in _FRAMED)
    if message.get("role") == "user" and "tool_result" not in kinds:
        flags |= PROMPT
    return size << _SHIFT | min(tools, _MAX_TOOLS) << _TOOLS_AT | flags


def _facts_of(packed: list[int]) -> Facts:
    sizes = [p >> _SHIFT for p in packed]
    flags = [p & _FLAGS for p in packed]
    return Facts(flags, sizes, list(accumulate(sizes, initial=0)), _marked(flags))


def _marked(flags: list[int], offset: int = 0) -> list[int]:
    return [i + offset for i, f in enumerate(flags) if f & MARKED]


@dataclass(frozen=True)
class Facts:
    """Per-message facts of a message list: `flags` (PROMPT, ASSISTANT, MARKED, and `tool_blocks`) and local sizes."""

    flags: list[int]
    sizes: list[int]
    cum: list[int]
    """`cum[i]` is the local size of the first `i` messages."""
    marked: list[int] = field(default_factory=list)
    """The indices of the messages flagged MARKED (so a later request need not scan `flags`)."""

    def size(self, start: int, stop: int) -> int:
        return self.cum[stop] - self.cum[start]

    def tool_blocks(self) -> int:
        """The tool blocks of all the messages (a pass over `flags`, at C speed)."""
        return sum(map(operator.rshift, self.flags, repeat(_TOOLS_AT)))


def facts(messages: Sequence[Mapping[str, Any]], memo: Sized | None = None, *, appended: bool = False) -> Facts:
    """The facts of `messages`; with `memo` (a run's), each message is sized once per run (see
    `Sized.packed` for `appended`)."""
    if memo is None:
        return _facts_of([_packed(m) for m in messages])
    return _facts_of(memo.packed(messages, appended=appended))


class Sized:
    """A run's sizes by message: `id(message)` -> its packed size and flags. The messages are held,
    so an id cannot be reused while the memo lives (it goes with the run).

    The run's first list (a long history, say) is kept as it was sized, and put in the map only when
    another list needs it: a run whose later requests are that list grown (told apart by
    `TokenCounter`, which sizes only what was appended) never builds the map.
    """

    __slots__ = ("_alive", "_by_id", "_first")

    def __init__(self) -> None:
        self._by_id: dict[int, int] = {}
        self._alive: list[Any] = []
        self._first: list[int] | None = None

    def packed(self, messages: Sequence[Mapping[str, Any]], *, appended: bool = False) -> list[int]:
        """The packed sizes of `messages`; `appended`: they were appended to a list sized before
        (they are new, so while the first list is not in the map they are sized and kept with it)."""
        by_id, first = self._by_id, self._first
        if not self._alive or (appended and first is not None):
            packed = [_packed(m) for m in messages]
            self._alive.extend(messages)
            if first is None:
                self._first = list(packed)
            else:
                first.extend(packed)
            return packed
        if first is not None:
            by_id.update(zip(map(id, self._alive), first, strict=True))
            self._first = None
        out = []
        for m in messages:
            p = by_id.get(id(m))
            if p is None:
                p = by_id[id(m)] = _packed(m)
                self._alive.append(m)
            out.append(p)
        return out


class Measure(Protocol):
    """What trimming and breakpoint placement need: facts, the calibration, exact corrections.

    `TokenCounter` is one (calibrated on the run's responses); `LOCAL` is the uncalibrated default.
    """

    scale: float

    def facts(self, messages: Sequence[Mapping[str, Any]]) -> Facts: ...

    def correction(self, messages: Sequence[Mapping[str, Any]]) -> int:
        """Exact minus estimated tokens of the messages known exactly (the last reply)."""
        ...

    def local_overhead(self, params: Mapping[str, Any]) -> int:
        """`overhead_size(params)`, memoised where the measure keeps a memo."""
        ...


def extend(found: Facts, more: Facts, *, in_place: bool) -> Facts:
    """`found` followed by `more`: grown in place when no one else holds `found` (a long history's
    facts are not copied on every request), else a new `Facts`."""
    base, offset = found.cum[-1], len(found.flags)
    cum = [base + c for c in more.cum[1:]]
    marked = [i + offset for i in more.marked]
    if not in_place:
        return Facts(found.flags + more.flags, found.sizes + more.sizes, found.cum + cum, found.marked + marked)
    found.flags.extend(more.flags)
    found.sizes.extend(more.sizes)
    found.cum.extend(cum)
    found.marked.extend(marked)
    return found


def sliced(found: Facts, ranges: Sequence[tuple[int, int]]) -> Facts:
    """The facts of the messages in `ranges` of a list whose facts are `found` (no message looked at)."""
    flags: list[int] = []
    sizes: list[int] = []
    for start, stop in ranges:
        flags += found.flags[start:stop]
        sizes += found.sizes[start:stop]
    return Facts(flags, sizes, list(accumulate(sizes, initial=0)), _marked(flags))


class _LocalMeasure:
    scale = 1.0

    def facts(self, messages: Sequence[Mapping[str, Any]]) -> Facts:
        return facts(messages)

    def correction(self, messages: Sequence[Mapping[str, Any]]) -> int:
        return 0

    def local_overhead(self, params: Mapping[str, Any]) -> int:
        return overhead_size(params)


LOCAL: Measure = _LocalMeasure()
