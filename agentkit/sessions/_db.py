"""The SQLite file behind `SQLiteSessionStore`: opening it, its schema and migrations, and its failures.

Schema 1 (`PRAGMA user_version = 1`):

- `sessions(id, created, updated, count)`: one row per session; `count` messages are stored.
- `messages(session_id, seq, data, digest)`: one row per message, `seq` from 0; `data` is the
  message's JSON, `digest` a 16-byte BLAKE2b of it (to tell an appended history from a rewritten one).
- `locks(session_id, owner, expires, host, pid, scope, since)`: one lease per held session.
- `tool_calls(session_id, call_id, started)`: tool calls started and not yet finished.

Schema 0 is the layout before it (one JSON row per session, locks by pid and host); it is
migrated in place, in one transaction, the first time a store opens the file.

Every failure becomes a `SessionStoreError` naming the path, what failed and the fix.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import stat
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from ..errors import SessionStoreError
from . import _codec

if TYPE_CHECKING:
    from anthropic.types import MessageParam

SCHEMA = 1
BUSY_TIMEOUT = 10.0  # seconds a write waits for another process's transaction before failing
_SCHEMA_1 = (
    "CREATE TABLE sessions (id TEXT PRIMARY KEY, created REAL NOT NULL, updated REAL NOT NULL, "
    "count INTEGER NOT NULL DEFAULT 0)",
    "CREATE TABLE messages (session_id TEXT NOT NULL, seq INTEGER NOT NULL, data TEXT NOT NULL, "
    "digest BLOB NOT NULL, PRIMARY KEY (session_id, seq))",
    "CREATE TABLE locks (session_id TEXT PRIMARY KEY, owner TEXT NOT NULL, expires REAL NOT NULL, "
    "host TEXT, pid INTEGER, scope TEXT, since REAL NOT NULL)",
    "CREATE TABLE tool_calls (session_id TEXT NOT NULL, call_id TEXT NOT NULL, started REAL NOT NULL, "
    "PRIMARY KEY (session_id, call_id)) WITHOUT ROWID",
)
_ELSEWHERE = "or use another path (set AGENTKIT_SESSIONS, `--db PATH`, or SQLiteSessionStore(path))"


class Problem(Exception):
    """What is wrong with the file and the fix, raised while opening it; `failures` names the action."""

    def __init__(self, problem: str, fix: str) -> None:
        super().__init__(problem, fix)
        self.problem, self.fix = problem, fix


class Database:
    """One SQLite file behind one connection, opened on first use (the path checked, the schema
    created or migrated), used by one operation at a time, and reopened after a failure or a fork.

    One long-lived connection keeps the WAL and its index in place between saves: a connection per
    save would checkpoint, delete and re-create them every time, several times the bytes of the rows.
    """

    def __init__(self, path: Path, *, max_bytes: int | None = None) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        self._pid = 0

    @contextlib.contextmanager
    def connect(self, *, write: bool = False) -> Iterator[sqlite3.Connection]:
        """The connection for one operation; with `write`, inside one `BEGIN IMMEDIATE` transaction."""
        with self._lock:
            db = self._open(write)
            try:
                if write:
                    db.execute("BEGIN IMMEDIATE")
                yield db
                if db.in_transaction:
                    db.execute("COMMIT")
            except BaseException as exc:
                if db.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        db.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    self._close()  # the next operation opens (and checks) the file again
                raise
            finally:
                if db is not self._db:
                    db.close()

    def close(self) -> None:
        """Close the connection (the next operation opens it again)."""
        with self._lock:
            self._close()

    def _open(self, write: bool) -> sqlite3.Connection:
        if self._db is not None and self._pid == os.getpid():
            return self._db
        self._db = None  # a connection inherited through fork() must not be used
        self._check_path()
        db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT, isolation_level=None, check_same_thread=False)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            self._migrate(db)
        except sqlite3.OperationalError as exc:
            if write or not _read_only(exc):
                db.close()
                raise
            return db  # a read-only file (or folder) may still be read, just this once; writes fail
        except BaseException:
            db.close()
            raise
        if self.max_bytes is not None:
            page = db.execute("PRAGMA page_size").fetchone()[0]
            db.execute(f"PRAGMA max_page_count = {max(1, self.max_bytes // page)}")
        self._db, self._pid = db, os.getpid()
        return db

    def _close(self) -> None:
        db, self._db = self._db, None
        if db is not None and self._pid == os.getpid():
            with contextlib.suppress(sqlite3.Error):
                db.close()

    def _check_path(self) -> None:
        path = self.path
        try:
            mode = path.stat().st_mode
        except (FileNotFoundError, NotADirectoryError):
            mode = None
        except OSError as exc:
            raise Problem(f"cannot be inspected ({exc.strerror})", f"Check the path, {_ELSEWHERE}") from None
        if mode is not None and stat.S_ISDIR(mode):
            raise Problem(
                "is a directory, not a database file",
                f"Point the store at a file in it, e.g. {path / 'sessions.sqlite3'}",
            )
        if mode is not None and not stat.S_ISREG(mode):
            raise Problem(
                f"is not a regular file (a {_kind(mode)})",
                f"Point the store at a regular file, {_ELSEWHERE}",
            )
        if mode is None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                blocker = next((p for p in path.parents if p.exists()), None)
                why = f"{blocker} is a file" if blocker is not None and not blocker.is_dir() else exc.strerror
                raise Problem(
                    f"cannot be created: its folder {path.parent} cannot be made ({why})",
                    f"Create the folder or make its parent writable, {_ELSEWHERE}",
                ) from None

    def _migrate(self, db: sqlite3.Connection) -> None:
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version == SCHEMA:
            return
        if version > SCHEMA:
            raise Problem(
                f"has schema {version}, written by a newer agentkit (this one reads schema {SCHEMA})",
                f"Upgrade agentkit, {_ELSEWHERE}",
            )
        db.execute("BEGIN IMMEDIATE")
        version = db.execute("PRAGMA user_version").fetchone()[0]  # another process may have migrated it
        if version == SCHEMA:
            db.execute("COMMIT")
            return
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        old = tables == {"sessions", "locks"} and "messages" in _columns(db, "sessions")
        if tables and not old:
            db.execute("ROLLBACK")
            raise Problem(
                f"is a SQLite database but not an agentkit session store (tables: {', '.join(sorted(tables))})",
                f"Use a file of its own for sessions, {_ELSEWHERE}",
            )
        if old:
            db.execute("ALTER TABLE sessions RENAME TO sessions_v0")
            db.execute("DROP TABLE locks")  # pid/host locks of the old layout; leases replace them
        for statement in _SCHEMA_1:
            db.execute(statement)
        if old:
            _copy_schema_0(db)
            db.execute("DROP TABLE sessions_v0")
        db.execute(f"PRAGMA user_version = {SCHEMA}")
        db.execute("COMMIT")

    @contextlib.contextmanager
    def failures(
        self,
        action: str,
        *,
        session_id: str | None = None,
        messages: list[MessageParam] | None = None,
        saved: list[int] | None = None,
    ) -> Iterator[None]:
        """Turn sqlite3 and OS errors inside into a `SessionStoreError` saying what failed and the fix.

        For a save, `messages` is the history given and `saved[0]` how many of them the store holds.
        """
        try:
            yield
        except Problem as exc:
            self.fail(action, exc.problem, exc.fix, session_id=session_id, messages=messages, saved=saved)
        except sqlite3.Error as exc:
            problem, fix = _diagnose(exc, self.path)
            self.fail(action, problem, fix, session_id=session_id, messages=messages, saved=saved, cause=exc)
        except OSError as exc:
            problem, fix = f"failed: {exc.strerror or exc}", f"Check the path, {_ELSEWHERE}"
            self.fail(action, problem, fix, session_id=session_id, messages=messages, saved=saved, cause=exc)

    def fail(
        self,
        action: str,
        problem: str,
        fix: str,
        *,
        session_id: str | None = None,
        messages: list[MessageParam] | None = None,
        saved: list[int] | None = None,
        cause: BaseException | None = None,
    ) -> NoReturn:
        """Raise the `SessionStoreError` for `action` on this file."""
        message = f"Could not {action}: {self.path} {problem}. {fix}."
        unsaved: list[MessageParam] = []
        if messages is not None:
            start = saved[0] if saved else -1
            unsaved = list(messages[max(start, 0) :])
            told = (
                _codec.describe(messages, start)
                if start >= 0
                else f"this history of {len(messages)} messages (the store could not tell which it already holds)"
            )
            message += f" Not saved: {told}; the error's .unsaved holds them, and .messages the whole history."
        raise SessionStoreError(
            message, path=str(self.path), session_id=session_id, messages=messages, unsaved=unsaved
        ) from cause


def _diagnose(exc: sqlite3.Error, path: Path) -> tuple[str, str]:
    """(what is wrong with the file, the fix) for a sqlite3 error."""
    code = getattr(exc, "sqlite_errorcode", -1) & 0xFF
    broken = f"mv {path} {path}.broken"
    if code in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB):
        return (
            "is not a SQLite database, or is damaged (truncated or overwritten)",
            f"Move it aside (`{broken}`) and a new store starts there; `sqlite3 {path}.broken .recover` may "
            "save what it held",
        )
    if code == sqlite3.SQLITE_FULL:
        return "cannot grow: the disk is full (or the store reached its max_bytes)", f"Free some space, {_ELSEWHERE}"
    if code in (sqlite3.SQLITE_READONLY, sqlite3.SQLITE_PERM, sqlite3.SQLITE_AUTH):
        return (
            "is read-only",
            f"Make the file and its folder writable (`chmod u+w {path} {path.parent}`), {_ELSEWHERE}",
        )
    if code == sqlite3.SQLITE_CANTOPEN:
        if not os.access(path.parent, os.W_OK) or (path.exists() and not os.access(path, os.R_OK | os.W_OK)):
            return (
                "cannot be opened for writing (no permission on the file or its folder)",
                f"Make the file and its folder writable (`chmod u+w {path} {path.parent}`), {_ELSEWHERE}",
            )
        return "cannot be opened", f"Check the path, {_ELSEWHERE}"
    if code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
        return (
            f"stayed locked by another connection for over {BUSY_TIMEOUT:g} s",
            "Close the program holding a transaction on it (a sqlite3 shell?) and try again",
        )
    if code == sqlite3.SQLITE_IOERR:
        return f"failed with an I/O error ({exc})", f"Check the disk and the file, {_ELSEWHERE}"
    name = getattr(exc, "sqlite_errorname", type(exc).__name__)
    return f"failed ({name}: {exc})", f"Check the file, {_ELSEWHERE}"


def _read_only(exc: sqlite3.Error) -> bool:
    code = getattr(exc, "sqlite_errorcode", -1) & 0xFF
    return code in (sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PERM)


def _copy_schema_0(db: sqlite3.Connection) -> None:
    """Schema 0's one JSON row per session into one row per message (a row that does not parse is
    kept as one message, so loading it reports the damage instead of silently losing it)."""
    for session_id, text, updated in db.execute("SELECT id, messages, updated FROM sessions_v0").fetchall():
        try:
            history = json.loads(text)
        except ValueError:
            history = None
        rows: list[tuple[str, bytes]] = []
        if isinstance(history, list):
            rows = [_reencode(message) for message in history]
        else:
            rows = [(text, _codec.digest(text.encode("utf-8", "surrogatepass")))]
        db.executemany(
            "INSERT INTO messages (session_id, seq, data, digest) VALUES (?, ?, ?, ?)",
            [(session_id, seq, data, digest) for seq, (data, digest) in enumerate(rows)],
        )
        stamp = updated if isinstance(updated, int | float) else time.time()
        db.execute(
            "INSERT INTO sessions (id, created, updated, count) VALUES (?, ?, ?, ?)",
            (session_id, stamp, stamp, len(rows)),
        )


def _reencode(message: Any) -> tuple[str, bytes]:
    text = json.dumps(message, ensure_ascii=False, separators=(",", ":"))
    return text, _codec.digest(text.encode("utf-8", "surrogatepass"))


def _columns(db: sqlite3.Connection, table: str) -> set[str]:
    return {row[1] for row in db.execute(f"PRAGMA table_info({table})")}


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISFIFO, "FIFO"), (stat.S_ISCHR, "character device"), (stat.S_ISSOCK, "socket")):
        if test(mode):
            return name
    return "block device" if stat.S_ISBLK(mode) else "special file"
