"""One request admitted per turn of an event loop, so a burst reaches the HTTP pool one at a time.

`asyncio.gather` over N runs starts N requests in one turn of the loop, and the SDK's connection
pool then holds N requests waiting at once; its work per request (a scan of the waiting requests
and of its connections) grows with them. Let out one per turn, each request goes as far as its
first wait (on the network, mostly) before the next is admitted: at 1,000 runs at once that cut
the client's CPU per model call by about a third (docs/performance.md). A request with no other
admitted in the same turn goes at once.

Per event loop (a `Pacer` is shared by every loop of the process; each loop has its own turns) and
asyncio only: other loops (trio, through anyio) admit at once.
"""

from __future__ import annotations

import asyncio
import weakref
from collections import deque

__all__ = ["one_per_turn", "running_loop"]


class _Turns:
    """The admissions of one asyncio loop: taken for the current turn, and who waits for the next."""

    __slots__ = ("_loop", "_taken", "_waiting")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._taken = False
        self._waiting: deque[asyncio.Future[None]] = deque()

    async def take(self) -> None:
        if not self._taken:  # live waiters exist only while a turn is taken (`_release` hands it on)
            self._take()
            return
        future = self._loop.create_future()
        self._waiting.append(future)
        await future  # cancelled: `_release` skips it; handed the turn and then cancelled: it is spent

    def _take(self) -> None:
        self._taken = True
        self._loop.call_soon(self._release)

    def _release(self) -> None:
        """The turn is over: hand the next one to the first live waiter (it runs before the next release)."""
        self._taken = False
        while self._waiting:
            future = self._waiting.popleft()
            if not future.done():
                future.set_result(None)
                self._take()
                return


_TURNS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Turns] = weakref.WeakKeyDictionary()


def running_loop() -> asyncio.AbstractEventLoop | None:
    """The running asyncio loop; None on another loop (trio, through anyio: one loop, one thread)."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


async def one_per_turn() -> None:
    """Wait until no other request was admitted in this turn of the running loop, and take the turn."""
    loop = running_loop()
    if loop is None:
        return
    turns = _TURNS.get(loop)
    if turns is None:
        turns = _TURNS[loop] = _Turns(loop)
    await turns.take()
