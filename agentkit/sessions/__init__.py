"""Durable sessions: a conversation saved as it goes, so a killed process resumes where it stopped.

A store keeps one history per session id, a lease so two runs never write one session at once, and
the tool calls a run started and has not finished (so a resumed run knows which may have run).
`SQLiteSessionStore` is the default; anything with the methods of `SessionStore` will do.

How a run uses a store: `acquire(id, owner)`; `load(id)`; then, as the run goes, `save(id, history)`
after each turn and each tool result, `mark_started(id, call_ids)` before tools run and
`mark_finished(id, call_id)` for a call whose result is not saved; `release(id, owner)` at the end.
On resume, `unfinished(id)` names the calls that started and never finished.
"""

from __future__ import annotations

import os
from collections.abc import Collection
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from ._admin import SessionInfo
from ._lease import Lease
from ._sqlite import SQLiteSessionStore

if TYPE_CHECKING:
    from anthropic.types import MessageParam

__all__ = ["Lease", "SQLiteSessionStore", "SessionInfo", "SessionStore", "default_path"]


class SessionStore(Protocol):
    """Where sessions live. Calls for one session id never overlap: one run holds it at a time.

    A store should raise `SessionStoreError` (naming its path or URL and the fix) when it cannot
    read or write, and `SessionBusy` when another run holds the session.
    """

    async def load(self, session_id: str) -> list[MessageParam]:
        """The saved history, or [] for a new session.

        Args:
            session_id: The session.
        """
        ...

    async def save(self, session_id: str, messages: list[MessageParam]) -> None:
        """Make `messages` the saved history, atomically: a reader sees the old history or the new one.

        The run passes the whole history every time, after each turn and each tool result (a
        partial user message of the results so far). The stored history is usually a prefix of it,
        so a store should append only what is new; a saved `tool_result` also finishes its call
        (see `mark_finished`). Raise before writing anything if a message cannot be stored.

        Args:
            session_id: The session.
            messages: The whole history.
        """
        ...

    async def acquire(self, session_id: str, owner: str) -> None:
        """Take the session for one run, or raise `SessionBusy` if another live run holds it.

        The hold must end by itself when its run dies (a lease that the store renews while the run
        lives), so a crashed run never locks its session for good.

        Args:
            session_id: The session.
            owner: The run's id, unique per run.
        """
        ...

    async def release(self, session_id: str, owner: str) -> None:
        """Give the session back.

        Args:
            session_id: The session.
            owner: The id given to `acquire`.
        """
        ...

    async def mark_started(self, session_id: str, call_ids: Collection[str]) -> None:
        """Record, durably, that these tool calls are about to run.

        Args:
            session_id: The session.
            call_ids: The `tool_use` ids of the calls.
        """
        ...

    async def mark_finished(self, session_id: str, call_id: str) -> None:
        """Record that a tool call finished without its result being saved (a saved result does this).

        Args:
            session_id: The session.
            call_id: The `tool_use` id.
        """
        ...

    async def unfinished(self, session_id: str) -> set[str]:
        """The calls marked started that neither finished nor have a saved `tool_result`.

        After a crash these may or may not have run: rerun only the idempotent ones.

        Args:
            session_id: The session.
        """
        ...


def default_path() -> Path:
    """Where `SQLiteSessionStore()` keeps sessions: `$AGENTKIT_SESSIONS`, else `sessions.sqlite3` in
    the user's state folder (platformdirs: `$XDG_STATE_HOME/agentkit` or `~/.local/state/agentkit`
    on Linux, `~/Library/Application Support/agentkit` on macOS, `%LOCALAPPDATA%\\agentkit` on Windows)."""
    if env := os.environ.get("AGENTKIT_SESSIONS"):
        return Path(env)
    import platformdirs

    return platformdirs.user_state_path("agentkit", appauthor=False) / "sessions.sqlite3"
