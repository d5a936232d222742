"""Stage 4: place at most 4 `cache_control` breakpoints so each request reads the longest cached prefix.

Pure: params in, new params out; only what gets a marker is copied (the tools list and its last
tool, the system prompt, one message and its content list), never the history.

The breakpoints, by priority when fewer than 4 slots are free:
1. the newest message, through the top-level `cache_control` (automatic caching: the API marks the
   last cacheable block). It writes this request's whole prompt for the next request to read, and
   costs no copy of the last message;
2. after the system prompt (and tools before it), `ttl` long: it survives a trim of the history,
   which changes every later prefix;
3. at the end of the previous request: the last message before the newest assistant message. The
   API finds the previous write by itself only within ~20 blocks of a breakpoint; a turn with many
   parallel tool calls adds more, and this marker still reads the whole previous prompt;
4. after the tools, `ttl` long: it survives a system prompt that differs between runs.
A breakpoint whose prefix is shorter than the model's minimum cacheable length is skipped (it
could not be written). Markers already in the params count toward the 4 and are kept. The API
wants longer TTLs first, so a marker of ours before one of the user's 1-hour markers is made 1
hour too, and one after a user's 5-minute marker stays 5 minutes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from .._caching import MAX_BREAKPOINTS, min_cacheable_tokens
from ..settings import CacheMode, CacheTTL
from .sizing import ASSISTANT, LOCAL, Measure, local_size

__all__ = ["CacheMode", "CacheTTL", "count_breakpoints", "place_breakpoints"]


_CACHEABLE = frozenset({"text", "image", "document", "tool_use", "tool_result", "search_result"})
_Position = tuple[int, int, int]  # (0 tools | 1 system | 2 messages | 3 top level, index, block)


def place_breakpoints(
    params: Mapping[str, Any],
    *,
    mode: CacheMode = "auto",
    ttl: CacheTTL = "5m",
    min_tokens: int | None = None,
    measure: Measure = LOCAL,
    previous_message_id: str | Literal[False] | None = False,
    at_most: int | None = None,
) -> dict[str, Any]:
    """`params` with cache breakpoints added (a new dict; the input is not changed).

    `min_tokens` overrides the model's minimum cacheable length; `measure` (a `TokenCounter`)
    sizes the prefixes, calibrated. `previous_message_id` (an id, or None on a first request) asks
    for `diagnostics.cache_miss_reason` in the response; False leaves diagnostics out. `at_most`
    bounds the whole prompt's tokens when known (an estimate plus its error): below the minimum,
    nothing can be cached and no message is sized.
    """
    out = dict(params)
    if previous_message_id is not False:
        out["diagnostics"] = {"previous_message_id": previous_message_id}
    if mode == "off":
        return out
    if mode != "auto":
        raise ValueError(f"cache must be 'auto' or 'off', not {mode!r}")
    messages: Sequence[Mapping[str, Any]] = params.get("messages") or ()
    if not messages:
        return out
    minimum = min_tokens if min_tokens is not None else min_cacheable_tokens(str(params.get("model", "")))
    if at_most is not None and at_most < minimum:
        return out
    found = measure.facts(messages)
    scale = measure.scale
    tools: Sequence[Mapping[str, Any]] = params.get("tools") or ()
    system = params.get("system")
    stable = measure.local_overhead({"tools": tools}) * scale
    head = stable + (local_size(system) * scale if system else 0.0)
    if head + found.cum[-1] * scale < minimum:
        return out  # even the whole prompt is below the minimum: no prefix of it can be written
    marks = _user_marks(params, found.marked)
    free = MAX_BREAKPOINTS - len(marks)
    if free <= 0:
        return out
    marked = {position for position, _ in marks}
    previous = _previous(found.flags)

    wanted: list[tuple[str, _Position, CacheTTL]] = []
    last = (2, len(messages) - 1, _last_cacheable(messages[-1]))
    if "cache_control" not in params and head + found.cum[-1] * scale >= minimum and last not in marked:
        wanted.append(("newest", (3, 0, 0), "5m"))
    if system and head >= minimum:
        position = (1, len(system) - 1 if isinstance(system, list) else 0, 0)
        if position not in marked:
            wanted.append(("system", position, ttl))
    if previous >= 0 and head + found.cum[previous + 1] * scale >= minimum:
        block = _last_cacheable(messages[previous])
        if block >= 0 and (2, previous, block) not in marked:
            wanted.append(("previous", (2, previous, block), "5m"))
    if tools and stable >= minimum and (0, len(tools) - 1, 0) not in marked:
        wanted.append(("tools", (0, len(tools) - 1, 0), ttl))

    for name, position, want in wanted[:free]:
        longer = any(p > position and t == "1h" for p, t in marks)
        shorter = any(p < position and t == "5m" for p, t in marks)
        if longer and shorter:
            continue  # the user's own markers already break the TTL order
        control = _control("1h" if longer else "5m" if shorter else want)
        if name == "newest":
            out["cache_control"] = control
        elif name == "system":
            out["system"] = _marked_system(system, control)
        elif name == "tools":
            out["tools"] = [*tools[:-1], {**tools[-1], "cache_control": control}]
        else:
            copied = list(out["messages"])
            copied[position[1]] = _marked_message(messages[position[1]], position[2], control)
            out["messages"] = copied
    return out


def count_breakpoints(params: Mapping[str, Any]) -> int:
    """How many `cache_control` breakpoints `params` carries (the top-level one included)."""
    messages = params.get("messages") or ()
    return len(_user_marks(params, range(len(messages))))


def _control(ttl: CacheTTL) -> dict[str, str]:
    return {"type": "ephemeral", "ttl": "1h"} if ttl == "1h" else {"type": "ephemeral"}


def _ttl(control: Any) -> CacheTTL:
    return "1h" if isinstance(control, Mapping) and control.get("ttl") == "1h" else "5m"


def _user_marks(params: Mapping[str, Any], candidates: Sequence[int]) -> list[tuple[_Position, CacheTTL]]:
    """Every marker already in `params`, in prompt order, with its TTL; `candidates` are the messages
    that may carry one (the facts' MARKED flag), so the history is not scanned."""
    marks: list[tuple[_Position, CacheTTL]] = []
    for i, tool in enumerate(params.get("tools") or ()):
        if isinstance(tool, Mapping) and tool.get("cache_control") is not None:
            marks.append(((0, i, 0), _ttl(tool["cache_control"])))
    system = params.get("system")
    for i, block in enumerate(system if isinstance(system, list) else ()):
        if isinstance(block, Mapping) and block.get("cache_control") is not None:
            marks.append(((1, i, 0), _ttl(block["cache_control"])))
    messages = params.get("messages") or ()
    for i in candidates:
        content = messages[i].get("content")
        for j, block in enumerate(content if isinstance(content, list) else ()):
            if block.get("cache_control") is not None:
                marks.append(((2, i, j), _ttl(block["cache_control"])))
            nested = block.get("content")
            if isinstance(nested, list):
                marks.extend(((2, i, j), _ttl(b.get("cache_control"))) for b in nested if b.get("cache_control"))
    if params.get("cache_control") is not None:
        marks.append(((3, 0, 0), _ttl(params["cache_control"])))
    return marks


def _previous(flags: Sequence[int]) -> int:
    """The index of the last message before the newest assistant message (-1 if none)."""
    for i in range(len(flags) - 1, 0, -1):
        if flags[i] & ASSISTANT and not flags[i - 1] & ASSISTANT:
            return i - 1
    return -1


def _last_cacheable(message: Mapping[str, Any]) -> int:
    content = message.get("content") or ()
    if isinstance(content, str):
        return 0
    for j in range(len(content) - 1, -1, -1):
        block = content[j]
        if block.get("type") in _CACHEABLE and not (block.get("type") == "text" and not block.get("text")):
            return j
    return -1


def _marked_system(system: Any, control: dict[str, str]) -> list[dict[str, Any]]:
    if isinstance(system, str):
        return [{"type": "text", "text": system, "cache_control": control}]
    return [*system[:-1], {**system[-1], "cache_control": control}]


def _marked_message(message: Mapping[str, Any], block: int, control: dict[str, str]) -> dict[str, Any]:
    content = message["content"]
    if isinstance(content, str):
        return {**message, "content": [{"type": "text", "text": content, "cache_control": control}]}
    blocks = list(content)
    blocks[block] = {**blocks[block], "cache_control": control}
    return {**message, "content": blocks}
