"""Durable sessions: a conversation saved after every completed turn, so a killed process resumes.

A store keeps one history per session id and a lock, so two runs never write one session at once.
`SQLiteSessionStore` is the default; anything with the four methods of `SessionStore` will do.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, cast

import anyio.to_thread

from .errors import SessionBusy

if TYPE_CHECKING:
    from anthropic.types import MessageParam


class SessionStore(Protocol):
    """Where sessions live. Each method is called once per run or per turn, never concurrently for one id."""

    async def load(self, session_id: str) -> list[MessageParam]:
        """The saved history, or [] for a new session."""
        ...

    async def save(self, session_id: str, messages: list[MessageParam]) -> None:
        """Replace the saved history, atomically: a reader sees the old history or the new one."""
        ...

    async def acquire(self, session_id: str, owner: str) -> None:
        """Take the session for one run, or raise `SessionBusy` if another live run holds it."""
        ...

    async def release(self, session_id: str, owner: str) -> None:
        """Give the session back."""
        ...


def default_path() -> Path:
    """`$AGENTKIT_SESSIONS`, else the user's state folder (`$XDG_STATE_HOME/agentkit/sessions.sqlite3`)."""
    if env := os.environ.get("AGENTKIT_SESSIONS"):
        return Path(env)
    state = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")
    return state / "agentkit" / "sessions.sqlite3"


class SQLiteSessionStore:
    """Sessions in one SQLite file; each save is one transaction, each lock a row naming its process.

    A lock left by a process that died (same host, pid gone) is taken over, so a killed run can be
    resumed without clean-up.
    """

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else default_path()
        self._ready = False

    def __repr__(self) -> str:
        return f"SQLiteSessionStore({str(self.path)!r})"

    async def load(self, session_id: str) -> list[MessageParam]:
        row = await self._run("SELECT messages FROM sessions WHERE id = ?", (session_id,), fetch=True)
        return cast("list[MessageParam]", json.loads(row[0])) if row else []

    async def save(self, session_id: str, messages: list[MessageParam]) -> None:
        data = json.dumps(messages, ensure_ascii=False, separators=(",", ":"))
        await self._run(
            "INSERT INTO sessions (id, messages, updated) VALUES (?, ?, ?) "
            "ON CONFLICT(id) DO UPDATE SET messages = excluded.messages, updated = excluded.updated",
            (session_id, data, time.time()),
        )

    async def acquire(self, session_id: str, owner: str) -> None:
        await anyio.to_thread.run_sync(self._acquire, session_id, owner)

    async def release(self, session_id: str, owner: str) -> None:
        await self._run("DELETE FROM locks WHERE session_id = ? AND owner = ?", (session_id, owner))

    def _acquire(self, session_id: str, owner: str) -> None:
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            row = db.execute("SELECT owner, pid, host FROM locks WHERE session_id = ?", (session_id,)).fetchone()
            if row is not None and _alive(row[1], row[2]):
                raise SessionBusy(
                    f"Session {session_id!r} is in use by another run (pid {row[1]} on {row[2]}); "
                    "wait for it to finish, or use another session id"
                )
            db.execute(
                "INSERT OR REPLACE INTO locks (session_id, owner, pid, host, since) VALUES (?, ?, ?, ?, ?)",
                (session_id, owner, os.getpid(), socket.gethostname(), time.time()),
            )

    async def _run(self, sql: str, args: tuple[Any, ...], *, fetch: bool = False) -> Any:
        def work() -> Any:
            with self._connect() as db:
                cursor = db.execute(sql, args)
                return cursor.fetchone() if fetch else None

        return await anyio.to_thread.run_sync(work)

    def _connect(self) -> sqlite3.Connection:
        if not self._ready:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        if not self._ready:
            db.execute(
                "CREATE TABLE IF NOT EXISTS sessions (id TEXT PRIMARY KEY, messages TEXT NOT NULL, updated REAL)"
            )
            db.execute(
                "CREATE TABLE IF NOT EXISTS locks (session_id TEXT PRIMARY KEY, owner TEXT, pid INTEGER, "
                "host TEXT, since REAL)"
            )
            self._ready = True
        return _Closing(db)  # type: ignore[return-value]


class _Closing:
    """`with connect() as db` that closes the connection (sqlite3's own context manager only commits)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> sqlite3.Connection:
        return self.db

    def __exit__(self, *exc: object) -> None:
        if self.db.in_transaction:
            self.db.execute("ROLLBACK" if exc[0] is not None else "COMMIT")
        self.db.close()


def _alive(pid: int, host: str) -> bool:
    if host != socket.gethostname():
        return True  # cannot tell; assume the other machine's run is live
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
