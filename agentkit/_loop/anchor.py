"""The anchor of a run's token estimates: the last exact count, and what it counted.

`TokenCounter` (`agentkit._loop.tokens`) keeps one; `moved` says how much of a new request differs
from what was counted (its local size and tool blocks), which is the only part of its estimate that
is uncertain.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from typing import Any

from .._history import grown
from .sizing import Facts, tool_blocks

__all__ = ["Anchor", "moved"]


class Anchor:
    """The last exact prompt size, and the messages it counted with their local sizes.

    `source` is the list counted, its first `n` messages (ending in `last`) the ones counted, and
    the first `n` of `sizes` and `flags` (the facts' lists, which may grow after) their facts.
    Nothing is copied: the loop only appends to a history, so a request that is `source` grown is
    told in one look, and `refs()` slices the counted messages out only for the general case
    (trimming, a resumed history), or says None when the list was cut short or changed at its
    counted end since.
    """

    __slots__ = ("_by_id", "flags", "last", "n", "overhead", "scale", "sizes", "source")

    def __init__(self, source: list[Any], found: Facts, overhead: int, scale: float) -> None:
        self.source, self.n, self.last = source, len(source), source[-1] if source else None
        self.sizes, self.flags, self.overhead, self.scale = found.sizes, found.flags, overhead, scale
        self._by_id: dict[int, int] | None = None

    def grown_into(self, messages: Sequence[Any]) -> bool:
        """Whether `messages` is the counted list with messages appended (or as it was)."""
        return messages is self.source and grown(messages, self.n, self.last)

    def refs(self) -> list[Any] | None:
        """The counted messages, or None if `source` no longer starts with them."""
        return self.source[: self.n] if grown(self.source, self.n, self.last) else None

    def by_id(self) -> dict[int, int]:
        """`id(message)` -> its index, for the counted messages."""
        if self._by_id is None:
            self._by_id = {id(m): i for i, m in enumerate(self.refs() or ())}
        return self._by_id


def moved(
    anchor: Anchor, messages: Sequence[Any], found: Facts, exact: tuple[Any, int] | None
) -> tuple[int, int] | None:
    """The local size and the tool blocks of what differs from the anchor's messages (`found` are
    the facts of `messages`): the new ones (but the reply known exactly) and the ones left out. Each
    distinct message object counts once. None when the anchor's list has changed under it (it no
    longer tells what was counted).

    Usually `messages` is the counted list with the loop's new messages after it (each a new
    object): then only that tail is looked at, and no id map of the history is built.
    """
    n, sizes, flags = anchor.n, found.sizes, found.flags
    grown = anchor.grown_into(messages)
    if not grown:
        refs = anchor.refs()
        if refs is None:
            return None
        grown = len(messages) >= n and all(map(operator.is_, messages, refs))
    if grown:
        new = {id(messages[i]): i for i in range(n, len(messages))}
        gone: dict[int, int] = {}
    else:
        here = {id(m): i for i, m in enumerate(messages)}
        before = anchor.by_id()
        new = {k: here[k] for k in here.keys() - before.keys()}
        gone = {k: before[k] for k in before.keys() - here.keys()}
    if exact is not None:
        new.pop(id(exact[0]), None)  # counted exactly wherever it is
    size = sum(sizes[i] for i in new.values()) + sum(anchor.sizes[i] for i in gone.values())
    tools = sum(tool_blocks(flags[i]) for i in new.values()) + sum(tool_blocks(anchor.flags[i]) for i in gone.values())
    return size, tools
