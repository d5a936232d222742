"""Stage 2: fit the history to a token budget by leaving out whole units, oldest first. Pure.

A unit is what can go without breaking the conversation:
- an older *turn*: a prompt (a user message without `tool_result` blocks) and everything up to the
  next prompt, so every `tool_use` leaves with its `tool_result` and every thinking block with its
  assistant message;
- inside the newest turn (the current run's task), an *exchange*: assistant message(s) and the
  user message(s) answering them.
The newest turn's prompt and its newest exchange always stay; so do the first prompt with
`keep_first=True` and the units holding pinned messages. What is left starts with a prompt (or
with whatever the given history started with), so it is always a valid request.

Trimming drops in chunks so that the cached prefix survives many requests. Cut points sit on a
fixed grid over the history: the k-th cut leaves out the oldest units up to k chunks of
`(1 - low_watermark) * budget` (by each message's stable local `size`), and the cut used is the
first one whose prompt fits the budget (by the calibrated `tokens`). So the first trim leaves about
`low_watermark * budget`, nothing moves while the history grows back to the budget, and the same
history always trims the same way, on every request and in every run that resumes it: a prefix
the previous request cached is still the prefix of this one.
"""

from __future__ import annotations

import itertools
from bisect import bisect_left
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .._history import grown
from ..errors import MemoryBudgetExceeded
from ..settings import Pinned
from .sizing import ASSISTANT, LOCAL, PROMPT, Facts, Measure, sliced

if TYPE_CHECKING:
    from anthropic.types import MessageParam

__all__ = ["DEFAULT_LOW_WATERMARK", "Pinned", "Trimmed", "Unit", "is_prompt", "trim", "units"]

DEFAULT_LOW_WATERMARK = 0.6
"""A cut leaves about 60% of the budget. Chosen with `python -m bench.cache --sweep`: each cut writes
the kept history to the cache again, so lower cuts less often and reads more (0.5 and 0.6 within 0.01
of each other), higher keeps more history but from 0.7 on costs 1.5-5 points of cache-read share."""


@dataclass(frozen=True)
class Unit:
    """Messages `[start, stop)` of the history, left out together or not at all."""

    start: int
    stop: int
    protected: bool
    kind: str
    """"turn" (an older one), "first" (its prompt, kept by `keep_first`), "prompt" (the newest
    turn's), "exchange", or "preamble" (messages before the first prompt)."""


@dataclass(frozen=True)
class Trimmed:
    """The history to send and what was left out."""

    messages: list[MessageParam]
    tokens: int
    """The estimated prompt: `overhead` plus the kept messages."""
    dropped: tuple[tuple[int, int], ...]
    """`[start, stop)` ranges of the input left out, oldest first."""

    @property
    def dropped_messages(self) -> int:
        return sum(stop - start for start, stop in self.dropped)


def is_prompt(message: Mapping[str, Any]) -> bool:
    """A user message that is not an answer to tool calls: it starts a turn."""
    if message.get("role") != "user":
        return False
    content = message.get("content")
    if isinstance(content, str):
        return True
    return not any(isinstance(b, Mapping) and b.get("type") == "tool_result" for b in content or ())


def units(
    messages: Sequence[Mapping[str, Any]],
    *,
    keep_first: bool = False,
    pinned: Pinned = None,
    turn_start: int | None = None,
    found: Facts | None = None,
) -> list[Unit]:
    """Split the history into units, in order; see the module docstring.

    `turn_start` is the index of the current run's prompt: messages from there on are the newest
    turn even if some are user text (output feedback, a continuation). By default, the last prompt.
    """
    n = len(messages)
    if n == 0:
        return []
    flags = (found or LOCAL.facts(messages)).flags
    prompts = [i for i, f in enumerate(flags) if f & PROMPT]
    if turn_start is None or not 0 <= turn_start < n:
        turn_start = prompts[-1] if prompts else 0
    starts = prompts[: bisect_left(prompts, turn_start)]
    spans: list[tuple[int, int, bool, str]] = []
    bounds = [*starts, turn_start]
    if bounds[0] > 0:
        spans.append((0, bounds[0], False, "preamble"))  # the history did not start with a prompt
    for begin, end in itertools.pairwise(bounds):
        if keep_first and begin == starts[0]:
            spans.append((begin, begin + 1, True, "first"))
            if begin + 1 < end:
                spans.append((begin + 1, end, False, "turn"))
        else:
            spans.append((begin, end, False, "turn"))
    spans.append((turn_start, turn_start + 1, True, "prompt"))
    exchange = turn_start + 1
    for i in range(turn_start + 2, n):
        if flags[i] & ASSISTANT and not flags[i - 1] & ASSISTANT:
            spans.append((exchange, i, False, "exchange"))
            exchange = i
    if exchange < n:
        spans.append((exchange, n, True, "exchange"))
    if pinned is None:
        return [Unit(*span) for span in spans]
    is_pinned = _pin_test(messages, pinned)
    return [
        Unit(start, stop, protected or any(is_pinned(i) for i in range(start, stop)), kind)
        for start, stop, protected, kind in spans
    ]


def trim(
    messages: Sequence[MessageParam],
    *,
    budget: int,
    overhead: int = 0,
    measure: Measure = LOCAL,
    low_watermark: float = DEFAULT_LOW_WATERMARK,
    keep_first: bool = False,
    pinned: Pinned = None,
    turn_start: int | None = None,
) -> Trimmed:
    """The history with the oldest units left out, so that `overhead` + messages fit `budget`.

    `overhead` is the estimate of everything else in the prompt (system, tools, a reserve), in the
    unit of `measure.tokens`. Raises `MemoryBudgetExceeded` when even what must stay does not fit.
    """
    if not 0 < low_watermark < 1:
        raise ValueError(f"low_watermark must be between 0 and 1, not {low_watermark!r}")
    items: Sequence[Mapping[str, Any]] = messages
    found = measure.facts(items)
    scale, fixed = measure.scale, overhead + measure.correction(items)
    size = found.cum[-1]
    total = fixed + round(scale * size)
    if total <= budget:
        whole = list(messages)
        _remember(measure, whole, found)
        return Trimmed(whole, total, ())
    chunk = max(1, int((1 - low_watermark) * budget))
    key = (chunk, keep_first, turn_start)
    # A layout is kept only where its units cannot shift under it: no pins (an index or a test of
    # each message), and the run's prompt at a given index (else the last prompt, which a new one moves).
    kept_layout = pinned is None and turn_start is not None and 0 <= turn_start < len(items)
    layout = getattr(measure, "trim_layout", None)
    if not (kept_layout and isinstance(layout, _Layout) and layout.follows(key, items, found)):
        layout = _Layout(key, items, found, keep_first=keep_first, pinned=pinned, turn_start=turn_start)
    layout.extend(items, found)
    if kept_layout and hasattr(measure, "trim_layout"):
        measure.trim_layout = layout  # a TokenCounter: for the run's next request
    protected = layout.protected + found.size(layout.open_at, len(items))
    if fixed + round(scale * protected) > budget:
        parts = units(items, keep_first=keep_first, pinned=pinned, turn_start=turn_start, found=found)
        raise _exceeded(budget, fixed + round(scale * protected), overhead, parts, found, scale)
    cut, dropped_size = layout.cut(lambda dropped: fixed + round(scale * (size - dropped)) <= budget)
    gone = layout.droppable[:cut]
    ranges, at = [], 0
    for start, stop in gone:
        if start > at:
            ranges.append((at, start))
        at = stop
    ranges.append((at, len(messages)))
    kept: list[MessageParam] = []
    for start, stop in ranges:
        kept += messages[start:stop]
    _remember(measure, kept, sliced(found, ranges))
    return Trimmed(kept, fixed + round(scale * (size - dropped_size)), tuple(gone))


class _Layout:
    """What trimming works out from a history's shape, with nothing about its budget's fit: what
    must stay, the units that may go (oldest first), and the grid points among them where a cut may
    fall, each with what it leaves out. Kept on a run's `TokenCounter` (`trim_layout`): the next
    request is the same history grown, so only the new messages are laid out, and the cut is found
    by bisection (`cut`) instead of a walk over every unit.

    The newest exchange is the one part that grows: it is open (from `open_at`, always kept) until
    an assistant message after a user one starts the next exchange.
    """

    __slots__ = (
        "_chunk", "_count", "_dropped", "_grid", "_points", "_total", "_turn_start",
        "droppable", "found", "key", "last", "n", "open_at", "protected", "source",
    )  # fmt: skip

    def __init__(
        self,
        key: tuple[Any, ...],
        messages: Sequence[Mapping[str, Any]],
        found: Facts,
        *,
        keep_first: bool,
        pinned: Pinned,
        turn_start: int | None,
    ) -> None:
        self.key, self._chunk = key, key[0]
        self.source, self.found = messages, found
        self._turn_start = turn_start or 0
        parts = units(messages, keep_first=keep_first, pinned=pinned, turn_start=turn_start, found=found)
        n = len(messages)
        self.open_at = n
        if parts and parts[-1].kind == "exchange" and parts[-1].protected and parts[-1].stop == n:
            self.open_at = parts.pop().start
        self.protected = sum(found.size(u.start, u.stop) for u in parts if u.protected)
        self.droppable: list[tuple[int, int]] = []
        self._points: list[int] = []  # how many droppable units a grid point's cut leaves out
        self._dropped: list[int] = []  # and what they weigh
        self._grid = 1
        self._count = self._total = 0
        for unit in parts:
            if not unit.protected:
                self._close(unit.start, unit.stop, found)
        self.n, self.last = n, messages[n - 1] if n else None

    def follows(self, key: tuple[Any, ...], messages: Sequence[Mapping[str, Any]], found: Facts) -> bool:
        """Whether `messages` is the list laid out, with messages appended since: the same list, with
        the same facts (sized again, they are new: the list was changed, not only grown)."""
        return (
            key == self.key and messages is self.source and found is self.found and grown(messages, self.n, self.last)
        )

    def extend(self, messages: Sequence[Mapping[str, Any]], found: Facts) -> None:
        """Lay out the messages appended since (as `units` splits the newest turn into exchanges)."""
        n, flags = len(messages), found.flags
        for i in range(max(self.n, self._turn_start + 2), n):
            if flags[i] & ASSISTANT and not flags[i - 1] & ASSISTANT:
                self._close(self.open_at, i, found)
                self.open_at = i
        self.n, self.last = n, messages[n - 1] if n else None

    def _close(self, start: int, stop: int, found: Facts) -> None:
        """A unit that may go, after the others: a grid point when it takes the total past the next line."""
        self.droppable.append((start, stop))
        self._count += 1
        self._total += found.size(start, stop)
        if self._total >= self._grid * self._chunk:
            self._points.append(self._count)
            self._dropped.append(self._total)
            self._grid = self._total // self._chunk + 1

    def cut(self, fits: Callable[[int], bool]) -> tuple[int, int]:
        """(units to leave out, their size): the first grid point whose cut `fits` (given what it
        leaves out), else every unit that may go, which fits whenever what must stay does."""
        at = bisect_left(self._dropped, True, key=fits)
        if at < len(self._points):
            return self._points[at], self._dropped[at]
        return self._count, self._total


def _remember(measure: Measure, messages: list[MessageParam], found: Facts) -> None:
    """Hand the facts of the output to a measure that keeps them (a `TokenCounter`), so the stages
    after this one do not look at every message again."""
    remember = getattr(measure, "remember", None)
    if remember is not None:
        remember(messages, found)


def _pin_test(messages: Sequence[Mapping[str, Any]], pinned: Pinned) -> Callable[[int], bool]:
    if pinned is None:
        return lambda i: False
    if callable(pinned):
        test = pinned
        return lambda i: bool(test(i, messages[i]))
    indices = frozenset(i if i >= 0 else len(messages) + i for i in pinned)
    return indices.__contains__


def _exceeded(
    budget: int, required: int, overhead: int, parts: list[Unit], found: Facts, scale: float
) -> MemoryBudgetExceeded:
    prompt = max(k for k, u in enumerate(parts) if u.kind == "prompt")
    newest = [parts[prompt], *([parts[-1]] if len(parts) > prompt + 1 and parts[-1].protected else [])]
    newest_tokens = round(scale * sum(found.size(u.start, u.stop) for u in newest))
    detail = f"system prompt and tools ~{overhead}, the newest turn's prompt and tool exchange ~{newest_tokens}"
    if required - overhead - newest_tokens > 0:
        detail += f", the first message and pinned messages ~{required - overhead - newest_tokens}"
    return MemoryBudgetExceeded(
        f"memory_budget={budget} tokens cannot hold what must be sent: ~{required} tokens ({detail}). "
        "Raise memory_budget, shorten the system prompt or the tool results, or pin fewer messages.",
        budget=budget,
        required=required,
    )
