"""The anchor of a run's token estimates: the last exact count, and what it counted.

`TokenCounter` (`agentkit._loop.tokens`) keeps one; `moved` says how much of a new request differs
from what was counted, which is the only part of its estimate that is uncertain.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from typing import Any

from .._history import grown

__all__ = ["Anchor", "moved"]


class Anchor:
    """The last exact prompt size, and the messages it counted with their local sizes.

    `source` is the list counted, its first `n` messages (ending in `last`) the ones counted, and
    the first `n` of `sizes` (the facts' list, which may grow after) their sizes. Nothing is copied:
    the loop only appends to a history, so a request that is `source` grown is told in one look,
    and `refs()` slices the counted messages out only for the general case (trimming, a resumed
    history), or says None when the list was cut short or changed at its counted end since.
    """

    __slots__ = ("_by_id", "last", "n", "overhead", "scale", "sizes", "source")

    def __init__(self, source: list[Any], sizes: list[int], overhead: int, scale: float) -> None:
        self.source, self.n, self.last = source, len(source), source[-1] if source else None
        self.sizes, self.overhead, self.scale = sizes, overhead, scale
        self._by_id: dict[int, int] | None = None

    def grown_into(self, messages: Sequence[Any]) -> bool:
        """Whether `messages` is the counted list with messages appended (or as it was)."""
        return messages is self.source and grown(messages, self.n, self.last)

    def refs(self) -> list[Any] | None:
        """The counted messages, or None if `source` no longer starts with them."""
        return self.source[: self.n] if grown(self.source, self.n, self.last) else None

    def by_id(self) -> dict[int, int]:
        if self._by_id is None:
            refs = self.refs() or []
            self._by_id = dict(zip(map(id, refs), self.sizes[: len(refs)], strict=True))
        return self._by_id


def moved(anchor: Anchor, messages: Sequence[Any], sizes: list[int], exact: tuple[Any, int] | None) -> int | None:
    """The local size of what differs from the anchor's messages: the new ones (but the reply known
    exactly) and the ones left out. Each distinct message object counts once. None when the
    anchor's list has changed under it (it no longer tells what was counted).

    Usually `messages` is the counted list with the loop's new messages after it (each a new
    object): then only that tail is looked at, and no id map of the history is built.
    """
    n = anchor.n
    grown = anchor.grown_into(messages)
    if not grown:
        refs = anchor.refs()
        if refs is None:
            return None
        grown = len(messages) >= n and all(map(operator.is_, messages, refs))
    if grown:
        tail = {id(messages[i]): sizes[i] for i in range(n, len(messages))}
        new = sum(tail.values())
        if exact is not None:
            key = id(exact[0])
            new -= tail[key] if key in tail else anchor.by_id().get(key, 0)
        return new
    ids = dict(zip(map(id, messages), sizes, strict=True))
    before = anchor.by_id()
    new = sum(ids[i] for i in ids.keys() - before.keys())
    if exact is not None and id(exact[0]) in ids:
        new -= ids[id(exact[0])]
    return new + sum(before[i] for i in before.keys() - ids.keys())
