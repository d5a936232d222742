"""`History`: the list a run keeps its messages in, and hands back as `RunResult.messages`.

It is a plain `list` of message params to everyone (JSON, equality, slicing, a session store), and
carries what the run learned about it, so that the next run on `history=result.messages` starts
from there: the exact token count of its last request (`anchor`: no fresh calibration, no
`count_tokens`) and how much of it is known valid (`checked`: not walked again). Kept on the list
rather than in a module table, so nothing outlives the history the caller holds.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any


def grown(messages: Sequence[Any], n: int, last: Any) -> bool:
    """Whether `messages` still starts with the `n` messages it had when the `n`-th was `last`: only
    appended to since. The loop never edits a history in place, so this one look at the known end is
    how every memo of a history (its check, facts, exact count, trimming layout) tells it is still good.
    """
    return len(messages) >= n and (not n or messages[n - 1] is last)


class History(list[Any]):
    """A list of messages that remembers, for the next run, what the last run knew of it."""

    __slots__ = ("anchor", "checked")

    def __init__(self, messages: Iterable[Any] = ()) -> None:
        super().__init__(messages)
        self.anchor: tuple[tuple[str, str], Any] | None = None
        """(the model's key, the exact count of the last request), from the run that left it."""
        self.checked: tuple[int, Any] | None = None
        """(n, the n-th message): the first n messages form a valid history."""

    def valid_prefix(self) -> int:
        """How many of the first messages are known valid (0 when changed at that point since)."""
        if self.checked is None:
            return 0
        n, last = self.checked
        return n if grown(self, n, last) else 0
