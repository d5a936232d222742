"""How much of a stored history a new one keeps, found cheaply, so a save writes only the rest.

The run saves the whole history each time, usually the stored one plus a message or two, and the
last stored message sometimes grown in place (tool results added to it as they land). The store
remembers, per session, the message objects it last saved or loaded and their digests: a message
that is the very object saved before is taken as unchanged (except the last one, which is always
compared), any other is encoded and compared. Without that memory (another process wrote last, a
new store) every stored message is compared by digest, once. A message changed in place after it
was saved, other than the last, is therefore not noticed: replace it with a new dict instead.
"""

from __future__ import annotations

import sqlite3
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import _codec

if TYPE_CHECKING:
    from anthropic.types import MessageParam


@dataclass
class Saved:
    """A session's history as the store last wrote or read it: the objects and their rows' digests."""

    objects: list[Any]
    digests: list[bytes]


class Memory:
    """The `Saved` of the sessions used most recently by one store (a bounded number of them)."""

    def __init__(self, size: int = 64) -> None:
        self.size = size
        self._saved: OrderedDict[str, Saved] = OrderedDict()
        self._lock = threading.Lock()  # saves of different sessions run in different worker threads

    def get(self, session_id: str) -> Saved | None:
        """What was last saved or loaded of `session_id` through this store, if remembered."""
        with self._lock:
            return self._saved.get(session_id)

    def put(self, session_id: str, saved: Saved) -> None:
        """Remember `saved` as `session_id`'s stored history."""
        with self._lock:
            self._saved[session_id] = saved
            self._saved.move_to_end(session_id)
            while len(self._saved) > self.size:
                self._saved.popitem(last=False)

    def forget(self, session_id: str) -> None:
        """Drop what is remembered of `session_id`."""
        with self._lock:
            self._saved.pop(session_id, None)


def common_prefix(
    db: sqlite3.Connection, session_id: str, messages: list[MessageParam], stored: int, known: Saved | None
) -> tuple[int, list[bytes]]:
    """(how many leading stored messages `messages` keeps, their digests), in a save's transaction."""
    if stored == 0:
        return 0, []
    n = min(stored, len(messages))
    last = db.execute(
        "SELECT digest FROM messages WHERE session_id = ? AND seq = ?", (session_id, stored - 1)
    ).fetchone()
    if known is not None and last is not None and len(known.digests) == stored and known.digests[-1] == last[0]:
        for i in range(n):
            unsure = messages[i] is not known.objects[i] or i == stored - 1
            if unsure and _codec.encode(session_id, i, messages[i])[1] != known.digests[i]:
                return i, known.digests[:i]
        return n, known.digests[:n]
    digests = [
        row[0] for row in db.execute("SELECT digest FROM messages WHERE session_id = ? ORDER BY seq", (session_id,))
    ]
    for i in range(n):
        if i >= len(digests) or _codec.encode(session_id, i, messages[i])[1] != digests[i]:
            return i, digests[:i]
    return n, digests[:n]
