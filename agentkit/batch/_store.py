"""A batch job on disk: its inputs, each run's history, the batches in flight and their results.

One SQLite file (`batches.sqlite3` beside the session store's file) holds every job. What a
resumed job needs, and when it is written:

- `jobs`: the job, created once; a row naming the live process that runs it (a lock);
- `runs`: one per input (its prompt, vars and history as given), the run's history as the loop
  saves it after every completed turn (the runs' `SessionStore` is this table), the usage billed
  to it, and its outcome once it finishes;
- `batches`: each batch submitted, `in_flight` until its results are stored;
- `requests`: which `custom_id` of which batch belongs to which run, the key of the request (to
  match it when the resumed run asks again), and its result once received.

Writes are small and run inline on the event loop's thread: WAL with `synchronous=NORMAL` makes
each commit durable against a killed process without an fsync per turn.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from ..errors import ConfigurationError, SessionBusy

if TYPE_CHECKING:
    from anthropic.types import MessageParam

__all__ = ["JobStore", "StoredRequest", "StoredRun", "default_path"]

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS jobs (id TEXT PRIMARY KEY, created REAL, agent TEXT, model TEXT, "
    "pid INTEGER, host TEXT)",
    "CREATE TABLE IF NOT EXISTS runs (job TEXT, idx INTEGER, input_id TEXT, input TEXT, messages TEXT, "
    "started INTEGER DEFAULT 0, state TEXT DEFAULT 'pending', outcome TEXT, usage TEXT, calls TEXT, "
    "PRIMARY KEY (job, idx))",
    "CREATE TABLE IF NOT EXISTS batches (job TEXT, id TEXT, created REAL, state TEXT, PRIMARY KEY (job, id))",
    "CREATE TABLE IF NOT EXISTS requests (job TEXT, custom_id TEXT, idx INTEGER, seq INTEGER, key TEXT, "
    "batch TEXT, result TEXT, PRIMARY KEY (job, custom_id))",
    "CREATE TABLE IF NOT EXISTS job_meta (id TEXT PRIMARY KEY, meta TEXT)",
    "CREATE INDEX IF NOT EXISTS requests_of_run ON requests (job, idx)",
    "CREATE INDEX IF NOT EXISTS requests_of_batch ON requests (job, batch)",
)


def default_path(session_store: object = None) -> Path:
    """`batches.sqlite3` in the session store's folder (`$AGENTKIT_SESSIONS`'s, else the user state folder).

    Args:
        session_store: The agent's session store; a `SQLiteSessionStore` names the folder.
    """
    from ..sessions import SQLiteSessionStore
    from ..sessions import default_path as sessions_path

    folder = (session_store.path if isinstance(session_store, SQLiteSessionStore) else sessions_path()).parent
    return folder / "batches.sqlite3"


@dataclass
class StoredRun:
    """One input's row, as a resumed job reads it back."""

    index: int
    input_id: str
    input: dict[str, Any]
    messages: list[MessageParam]
    started: bool
    state: str
    outcome: dict[str, Any] | None
    usage: dict[str, int]


@dataclass
class StoredRequest:
    """One submitted request: its run, its key, its batch and, once received, its result."""

    custom_id: str
    index: int
    seq: int
    key: str
    batch: str
    result: dict[str, Any] | None


class JobStore:
    """The jobs in one SQLite file; see the module docstring.

    Args:
        path: The file; created with its folder on first use.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, timeout=10, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        for statement in _SCHEMA:
            self._db.execute(statement)

    def __repr__(self) -> str:
        return f"JobStore({str(self.path)!r})"

    def close(self) -> None:
        """Close the file."""
        self._db.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # -- jobs ----------------------------------------------------------------------------------

    def create(self, job: str, agent: str, model: str, inputs: Iterable[tuple[str, dict[str, Any]]]) -> None:
        """A new job with its inputs (id, JSON-able input), taken by this process."""
        with self._transaction() as db:
            if db.execute("SELECT 1 FROM jobs WHERE id = ?", (job,)).fetchone():
                raise ConfigurationError(
                    f"Batch job {job!r} exists already in {self.path}; resume it with resume={job!r}"
                )
            db.execute(
                "INSERT INTO jobs VALUES (?, ?, ?, ?, ?, ?)",
                (job, time.time(), agent, model, os.getpid(), socket.gethostname()),
            )
            db.executemany(
                "INSERT INTO runs (job, idx, input_id, input, messages) VALUES (?, ?, ?, ?, ?)",
                [
                    (job, i, input_id, _dumps(data), _dumps(data.get("history") or []))
                    for i, (input_id, data) in enumerate(inputs)
                ],
            )

    def set_meta(self, job: str, meta: dict[str, Any]) -> None:
        """What the caller needs to resume the job by its id alone (the CLI: spec, vars, output)."""
        self._db.execute("INSERT OR REPLACE INTO job_meta VALUES (?, ?)", (job, _dumps(meta)))

    def meta(self, job: str) -> dict[str, Any] | None:
        """What `set_meta` saved, or None."""
        row = self._db.execute("SELECT meta FROM job_meta WHERE id = ?", (job,)).fetchone()
        return cast("dict[str, Any]", json.loads(row[0])) if row else None

    def take(self, job: str) -> None:
        """Take a job for this process (to resume it); `SessionBusy` while another live process has it."""
        with self._transaction() as db:
            row = db.execute("SELECT pid, host FROM jobs WHERE id = ?", (job,)).fetchone()
            if row is None:
                raise ConfigurationError(
                    f"No batch job {job!r} in {self.path}; check the id, or point $AGENTKIT_SESSIONS where it ran"
                )
            if row[0] and _alive(row[0], row[1]):
                raise SessionBusy(f"Batch job {job!r} is being run by process {row[0]} on {row[1]}; wait for it")
            db.execute("UPDATE jobs SET pid = ?, host = ? WHERE id = ?", (os.getpid(), socket.gethostname(), job))

    def let_go(self, job: str) -> None:
        """This process no longer runs the job."""
        self._db.execute("UPDATE jobs SET pid = NULL WHERE id = ? AND pid = ?", (job, os.getpid()))

    def runs(self, job: str) -> list[StoredRun]:
        """The job's runs, in input order."""
        rows = self._db.execute(
            "SELECT idx, input_id, input, messages, started, state, outcome, usage FROM runs "
            "WHERE job = ? ORDER BY idx",
            (job,),
        ).fetchall()
        return [
            StoredRun(
                r[0], r[1], json.loads(r[2]), json.loads(r[3]), bool(r[4]), r[5], _loads(r[6]), _loads(r[7]) or {}
            )
            for r in rows
        ]

    # -- runs ----------------------------------------------------------------------------------

    def save_messages(self, job: str, index: int, messages: list[MessageParam]) -> None:
        """The run's history, as the loop saves it after each completed turn."""
        self._db.execute(
            "UPDATE runs SET messages = ?, started = 1 WHERE job = ? AND idx = ?", (_dumps(messages), job, index)
        )

    def calls_started(self, job: str, index: int) -> set[str]:
        """The tool calls of the run marked started and not finished (see `SessionStore.mark_started`)."""
        row = self._db.execute("SELECT calls FROM runs WHERE job = ? AND idx = ?", (job, index)).fetchone()
        return set(json.loads(row[0])) if row and row[0] else set()

    def set_calls_started(self, job: str, index: int, calls: set[str]) -> None:
        self._db.execute("UPDATE runs SET calls = ? WHERE job = ? AND idx = ?", (_dumps(sorted(calls)), job, index))

    def messages(self, job: str, index: int) -> list[MessageParam]:
        row = self._db.execute("SELECT messages FROM runs WHERE job = ? AND idx = ?", (job, index)).fetchone()
        return cast("list[MessageParam]", json.loads(row[0])) if row else []

    def finish(self, job: str, index: int, state: str, outcome: dict[str, Any]) -> None:
        """The run's outcome (`done` or `failed`); its requests are no longer needed."""
        with self._transaction() as db:
            db.execute(
                "UPDATE runs SET state = ?, outcome = ? WHERE job = ? AND idx = ?", (state, _dumps(outcome), job, index)
            )
            db.execute("DELETE FROM requests WHERE job = ? AND idx = ?", (job, index))

    # -- batches -------------------------------------------------------------------------------

    def submitting(self, job: str, intent: str, requests: Iterable[tuple[str, int, int, str]]) -> None:
        """A batch of these requests (custom_id, run index, seq, key) is about to be created, under the
        placeholder id `intent`: a process killed before `submitted` leaves a trace to find it by."""
        with self._transaction() as db:
            db.execute("INSERT INTO batches VALUES (?, ?, ?, 'submitting')", (job, intent, time.time()))
            db.executemany(
                "INSERT OR REPLACE INTO requests VALUES (?, ?, ?, ?, ?, ?, NULL)",
                [(job, cid, index, seq, key, intent) for cid, index, seq, key in requests],
            )

    def submitted(self, job: str, intent: str, batch: str | None) -> None:
        """The batch `intent` stood for was created as `batch` (None: it was not created at all)."""
        with self._transaction() as db:
            if batch is None:
                db.execute("DELETE FROM requests WHERE job = ? AND batch = ?", (job, intent))
                db.execute("DELETE FROM batches WHERE job = ? AND id = ?", (job, intent))
                return
            db.execute("UPDATE requests SET batch = ? WHERE job = ? AND batch = ?", (batch, job, intent))
            db.execute("UPDATE batches SET id = ?, state = 'in_flight' WHERE job = ? AND id = ?", (batch, job, intent))

    def intents(self, job: str) -> list[tuple[str, float, int]]:
        """Batches being created when the process stopped: (placeholder id, when, how many requests)."""
        rows = self._db.execute(
            "SELECT b.id, b.created, COUNT(r.custom_id) FROM batches b LEFT JOIN requests r "
            "ON r.job = b.job AND r.batch = b.id WHERE b.job = ? AND b.state = 'submitting' GROUP BY b.id",
            (job,),
        ).fetchall()
        return [(r[0], r[1], r[2]) for r in rows]

    def received(
        self, job: str, batch: str, results: dict[str, dict[str, Any]], usage: dict[int, dict[str, int]]
    ) -> None:
        """A batch ended: each request's result, and the usage it added to each run, in one transaction."""
        with self._transaction() as db:
            db.executemany(
                "UPDATE requests SET result = ? WHERE job = ? AND custom_id = ?",
                [(_dumps(result), job, cid) for cid, result in results.items()],
            )
            db.executemany(
                "UPDATE runs SET usage = ? WHERE job = ? AND idx = ?",
                [(_dumps(totals), job, index) for index, totals in usage.items()],
            )
            db.execute("UPDATE batches SET state = 'done' WHERE job = ? AND id = ?", (job, batch))

    def batches(self, job: str, state: str | None = None) -> list[str]:
        """The job's batch ids in submission order (only those in `state`, if given)."""
        sql, args = "SELECT id FROM batches WHERE job = ? AND state != 'submitting'", [job]
        if state is not None:
            sql, args = sql + " AND state = ?", [*args, state]
        return [r[0] for r in self._db.execute(sql + " ORDER BY created, rowid", args).fetchall()]

    def requests(self, job: str) -> list[StoredRequest]:
        """The requests of the job's unfinished runs, in submission order."""
        rows = self._db.execute(
            "SELECT custom_id, idx, seq, key, batch, result FROM requests WHERE job = ? ORDER BY rowid", (job,)
        ).fetchall()
        return [StoredRequest(r[0], r[1], r[2], r[3], r[4], _loads(r[5])) for r in rows]


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def _alive(pid: int, host: str) -> bool:
    if host != socket.gethostname():
        return True  # cannot tell; assume the other machine's process is live
    if pid == os.getpid():
        return False  # this process let go without saying so (a cancelled run in the same process)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
