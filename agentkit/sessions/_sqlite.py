"""`SQLiteSessionStore`: sessions in one SQLite file, a row per message, a lease per running session."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Collection
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import anyio.to_thread

from ..errors import SessionBusy, SessionStoreError
from . import _admin, _codec
from ._admin import SessionInfo
from ._db import Database
from ._history import Memory, Saved, common_prefix
from ._lease import Heartbeat, Lease, dead_here, here

if TYPE_CHECKING:
    import sqlite3

    from anthropic.types import MessageParam

T = TypeVar("T")


class SQLiteSessionStore:
    """Sessions in one SQLite file: a row per message, so a save appends only what is new.

    Each save is one transaction. A run holds its session by a lease (owner, expiry) that a
    background thread renews every `lease / 3` seconds; a dead run's lease expires after `lease`
    seconds on any host, and at once on its own host when its process is gone. Every failure of the
    file (damaged, read-only, full, a directory, a newer schema) is a `SessionStoreError` that names
    the path and the fix; the layout of the previous release is migrated on first open.

    Args:
        path: The database file; default `default_path()` (`$AGENTKIT_SESSIONS`, else the user's
            state folder from platformdirs).
        lease: Seconds a lease lasts without renewal: how long a dead run on another host blocks
            its session.
        max_bytes: A cap on the file's size (SQLite's `max_page_count`); a save past it fails like a
            full disk. None: no cap.
        clock: The time source for leases, in Unix seconds (tests move it forward).
    """

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        lease: float = 30.0,
        max_bytes: int | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        from . import default_path

        if lease <= 0:
            raise ValueError(f"lease must be a positive number of seconds, got {lease!r}")
        self.path = Path(path) if path is not None else default_path()
        self.lease = lease
        self._clock = clock
        self._db = Database(self.path, max_bytes=max_bytes)
        self._heartbeat = Heartbeat(self._renew, interval=lease / 3)
        self._memory = Memory()

    def __repr__(self) -> str:
        return f"SQLiteSessionStore({str(self.path)!r})"

    def close(self) -> None:
        """Close the database connection; the next call opens it again. Garbage collection closes it too."""
        self._db.close()

    # -- the SessionStore protocol ----------------------------------------------------------------

    async def load(self, session_id: str) -> list[MessageParam]:
        """The saved history, or [] for a new session.

        Args:
            session_id: The session.

        Raises:
            SessionStoreError: The file cannot be read, or a stored message is damaged.
        """
        return await self._thread(self._load, session_id)

    async def save(self, session_id: str, messages: list[MessageParam]) -> None:
        """Store `messages` as the session's history, appending what is new, in one transaction.

        Args:
            session_id: The session.
            messages: The whole history; when the stored one is a prefix of it, only the rest is written.

        Raises:
            InputError: A message cannot be encoded (a lone surrogate); nothing was written.
            SessionBusy: This store held the session and another run has taken it since.
            SessionStoreError: The write failed (disk full, read-only, damaged); `.unsaved` holds
                the messages the store does not have.
        """
        await self._thread(self._save, session_id, list(messages))

    async def acquire(self, session_id: str, owner: str) -> None:
        """Take the session's lease for `owner` and keep renewing it until `release`.

        Args:
            session_id: The session.
            owner: The run's id, unique per run.

        Raises:
            SessionBusy: Another run holds an unexpired lease.
        """
        await self._thread(self._acquire, session_id, owner)
        self._heartbeat.add(session_id, owner)

    async def release(self, session_id: str, owner: str) -> None:
        """Stop renewing and drop `owner`'s lease (another owner's lease is left alone).

        Never raises for a store failure (a full disk, say): the run's own error says what went wrong,
        and the lease, no longer renewed, expires by itself within `lease` seconds.

        Args:
            session_id: The session.
            owner: The id given to `acquire`.
        """
        self._heartbeat.remove(session_id, owner)
        sql = "DELETE FROM locks WHERE session_id = ? AND owner = ?"
        with contextlib.suppress(SessionStoreError):
            await self._write("release session", session_id, sql, (session_id, owner))

    async def mark_started(self, session_id: str, call_ids: Collection[str]) -> None:
        """Record that these tool calls are about to run (committed before this returns).

        Args:
            session_id: The session.
            call_ids: The `tool_use` ids.
        """
        for call_id in call_ids:
            _codec.check_id("tool call", call_id)
        now = self._clock()
        await self._thread(self._mark_started, session_id, [(session_id, call_id, now) for call_id in call_ids])

    async def mark_finished(self, session_id: str, call_id: str) -> None:
        """Record that a tool call finished (saving its `tool_result` does this too).

        Args:
            session_id: The session.
            call_id: The `tool_use` id.
        """
        _codec.check_id("tool call", call_id)
        sql = "DELETE FROM tool_calls WHERE session_id = ? AND call_id = ?"
        await self._write("record a finished tool call of session", session_id, sql, (session_id, call_id))

    async def unfinished(self, session_id: str) -> set[str]:
        """The tool calls marked started that neither finished nor have a saved result.

        Args:
            session_id: The session.
        """
        rows = await self._read(
            "read session", session_id, "SELECT call_id FROM tool_calls WHERE session_id = ?", (session_id,)
        )
        return {row[0] for row in rows}

    # -- administration (the `agentkit sessions` commands) ----------------------------------------

    async def sessions(self) -> list[SessionInfo]:
        """Every stored session, the most recently updated first."""
        return await self._thread(self._infos, None)

    async def info(self, session_id: str) -> SessionInfo | None:
        """One session's summary, or None if it is not stored (and no run holds it).

        Args:
            session_id: The session.
        """
        found = await self._thread(self._infos, session_id)
        return found[0] if found else None

    async def rows(self, session_id: str) -> list[str]:
        """The stored JSON text of each message, undecoded: to inspect a session that fails to load.

        Args:
            session_id: The session.
        """
        sql = "SELECT data FROM messages WHERE session_id = ? ORDER BY seq"
        return [row[0] for row in await self._read("read session", session_id, sql, (session_id,))]

    async def delete(self, session_id: str) -> bool:
        """Delete a session: its history, its lease and its tool-call marks. False if there was none.

        Args:
            session_id: The session.
        """
        return await self._thread(self._delete, session_id)

    async def unlock(self, session_id: str) -> Lease | None:
        """Drop the session's lease whoever holds it (a dead run's, usually); returns it, or None.

        A run that is in fact alive takes the lease back at its next renewal if no other run took it,
        and stops with `SessionBusy` at its next save if one did.

        Args:
            session_id: The session.
        """
        return await self._thread(self._unlock, session_id)

    # -- in a worker thread -----------------------------------------------------------------------

    async def _thread(self, work: Callable[..., T], session_id: str | None, *args: Any) -> T:
        if session_id is not None:
            _codec.check_id("session", session_id)
        return await anyio.to_thread.run_sync(work, session_id, *args)

    async def _write(self, action: str, session_id: str, sql: str, args: tuple[Any, ...]) -> None:
        def work(_: str) -> None:
            with self._db.failures(f"{action} {session_id!r}", session_id=session_id), self._db.connect() as db:
                db.execute(sql, args)

        await self._thread(work, session_id)

    async def _read(self, action: str, session_id: str, sql: str, args: tuple[Any, ...]) -> list[Any]:
        def work(_: str) -> list[Any]:
            with self._db.failures(f"{action} {session_id!r}", session_id=session_id), self._db.connect() as db:
                return db.execute(sql, args).fetchall()

        return await self._thread(work, session_id)

    def _load(self, session_id: str) -> list[MessageParam]:
        with self._db.failures(f"load session {session_id!r}", session_id=session_id), self._db.connect() as db:
            rows = db.execute(
                "SELECT seq, data, digest FROM messages WHERE session_id = ? ORDER BY seq", (session_id,)
            ).fetchall()
        history: list[MessageParam] = []
        for expected, (seq, data, _) in enumerate(rows):
            message, problem = _codec.decode(session_id, seq, data) if seq == expected else (None, None)
            if message is None:
                problem = problem or f"message {expected} is missing"
                self._db.fail(
                    f"load session {session_id!r}",
                    f"holds a damaged history: {problem}",
                    f"Inspect it with `agentkit sessions show {session_id} --db {self.path}`, then delete it "
                    f"(`agentkit sessions delete {session_id}`) or save a repaired history over it",
                    session_id=session_id,
                )
            history.append(message)
        self._memory.put(session_id, Saved(list(history), [row[2] for row in rows]))
        return history

    def _save(self, session_id: str, messages: list[MessageParam]) -> None:
        saved = [-1]  # how many of `messages` the store holds (-1: not known yet), for the error
        action = f"save session {session_id!r}"
        with (
            self._db.failures(action, session_id=session_id, messages=messages, saved=saved),
            self._db.connect(write=True) as db,
        ):
            self._check_lease(db, session_id)
            now = self._clock()
            row = db.execute("SELECT count FROM sessions WHERE id = ?", (session_id,)).fetchone()
            stored = row[0] if row else 0
            start, digests = common_prefix(db, session_id, messages, stored, self._memory.get(session_id))
            saved[0] = start
            rows = [
                (session_id, seq, *_codec.encode(session_id, seq, messages[seq])) for seq in range(start, len(messages))
            ]
            digests += [row[3] for row in rows]
            if start < stored:
                db.execute("DELETE FROM messages WHERE session_id = ? AND seq >= ?", (session_id, start))
            db.executemany("INSERT INTO messages (session_id, seq, data, digest) VALUES (?, ?, ?, ?)", rows)
            db.execute(
                "INSERT INTO sessions (id, created, updated, count) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(id) DO UPDATE SET updated = excluded.updated, count = excluded.count",
                (session_id, now, now, len(messages)),
            )
            answered = [
                call_id for seq in range(start, len(messages)) for call_id in _codec.tool_result_ids(messages[seq])
            ]
            if answered:
                db.executemany(
                    "DELETE FROM tool_calls WHERE session_id = ? AND call_id = ?",
                    [(session_id, call_id) for call_id in answered],
                )
        self._memory.put(session_id, Saved(messages, digests))

    def _check_lease(self, db: sqlite3.Connection, session_id: str) -> None:
        """In a save's transaction: a session this store holds is still ours (renewed), or taken back
        if someone unlocked it; if another run took it, `SessionBusy`."""
        owner = self._heartbeat.holds(session_id)
        if owner is None:
            return
        row = db.execute("SELECT owner, expires FROM locks WHERE session_id = ?", (session_id,)).fetchone()
        if row is not None and row[0] != owner:
            raise SessionBusy(
                f"Session {session_id!r} was taken by another run (owner {row[0]}) while this run held it "
                "(its lease lapsed, or it was unlocked); this run's history was not saved. "
                "Let one run at a time use a session",
                session_id=session_id,
                owner=row[0],
                expires=row[1],
            )
        self._put_lease(db, session_id, owner)

    def _acquire(self, session_id: str, owner: str) -> None:
        with (
            self._db.failures(f"lock session {session_id!r}", session_id=session_id),
            self._db.connect(write=True) as db,
        ):
            row = db.execute(
                "SELECT owner, expires, host, pid, scope, since FROM locks WHERE session_id = ?", (session_id,)
            ).fetchone()
            now = self._clock()
            if row is not None and row[0] != owner and row[1] > now and not dead_here(row[2], row[3], row[4]):
                lease = Lease(owner=row[0], expires=row[1], host=row[2], pid=row[3], since=row[5])
                raise SessionBusy(
                    _busy_message(session_id, lease, now, self.path),
                    session_id=session_id,
                    owner=row[0],
                    expires=row[1],
                )
            self._put_lease(db, session_id, owner)

    def _put_lease(self, db: sqlite3.Connection, session_id: str, owner: str) -> None:
        host, pid, scope = here()
        now = self._clock()
        db.execute(
            "INSERT INTO locks (session_id, owner, expires, host, pid, scope, since) VALUES (?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT(session_id) DO UPDATE SET owner = excluded.owner, expires = excluded.expires, "
            "host = excluded.host, pid = excluded.pid, scope = excluded.scope, "
            "since = CASE WHEN locks.owner = excluded.owner THEN locks.since ELSE excluded.since END",
            (session_id, owner, now + self.lease, host, pid, scope, now),
        )

    def _renew(self, held: dict[str, str]) -> None:
        """The heartbeat: extend each held lease; one an unlock dropped is taken back, one another run
        took is left to it (this run's next save raises `SessionBusy`)."""
        with self._db.connect(write=True) as db:
            for session_id, owner in held.items():
                row = db.execute("SELECT owner FROM locks WHERE session_id = ?", (session_id,)).fetchone()
                if row is None or row[0] == owner:
                    self._put_lease(db, session_id, owner)

    def _mark_started(self, session_id: str, rows: list[tuple[str, str, float]]) -> None:
        action = f"record started tool calls of session {session_id!r}"
        with self._db.failures(action, session_id=session_id), self._db.connect(write=True) as db:
            db.executemany(
                "INSERT INTO tool_calls (session_id, call_id, started) VALUES (?, ?, ?) "
                "ON CONFLICT DO UPDATE SET started = excluded.started",
                rows,
            )

    def _infos(self, session_id: str | None) -> list[SessionInfo]:
        with self._db.failures("list sessions", session_id=session_id), self._db.connect() as db:
            return _admin.infos(db, session_id)

    def _delete(self, session_id: str) -> bool:
        self._memory.forget(session_id)
        action = f"delete session {session_id!r}"
        with self._db.failures(action, session_id=session_id), self._db.connect(write=True) as db:
            return _admin.delete(db, session_id)

    def _unlock(self, session_id: str) -> Lease | None:
        action = f"unlock session {session_id!r}"
        with self._db.failures(action, session_id=session_id), self._db.connect(write=True) as db:
            return _admin.unlock(db, session_id)


def _busy_message(session_id: str, lease: Lease, now: float, path: Path) -> str:
    at = datetime.fromtimestamp(lease.expires, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    where = f"pid {lease.pid} on {lease.host}" if lease.host else "another process"
    return (
        f"Session {session_id!r} is in use by another run (owner {lease.owner}, {where}); its lease expires "
        f"at {at} (in {max(0.0, lease.expires - now):.0f} s) unless that run renews it. Wait for it to finish, "
        f"use another session id, or if that run is dead: agentkit sessions unlock {session_id} --db {path}"
    )
