"""What `agentkit sessions` reads and changes: summaries, deletion, unlocking (each inside one
operation of the store's connection)."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from ._lease import Lease


@dataclass(frozen=True)
class SessionInfo:
    """One stored session, as `agentkit sessions list` shows it.

    Attributes:
        id: The session id.
        messages: How many messages its history holds.
        created: When it was first saved (a Unix time).
        updated: When it was last saved (a Unix time).
        lease: Who holds it now, or None when no run does (an expired lease included: check `expires`).
        unfinished: Tool calls started and not finished, by call id.
    """

    id: str
    messages: int
    created: float
    updated: float
    lease: Lease | None
    unfinished: tuple[str, ...]


def infos(db: sqlite3.Connection, session_id: str | None) -> list[SessionInfo]:
    """Every session (or the one named), the most recently updated first; a lease alone counts as one."""
    where, args = ("WHERE id = ?", (session_id,)) if session_id is not None else ("", ())
    rows = db.execute(
        "SELECT id, count, created, updated FROM (SELECT id, count, created, updated FROM sessions UNION "
        "SELECT session_id, 0, since, since FROM locks WHERE session_id NOT IN (SELECT id FROM sessions)) "
        f"{where} ORDER BY updated DESC, id",
        args,
    ).fetchall()
    leases = {
        row[0]: Lease(owner=row[1], expires=row[2], host=row[3], pid=row[4], since=row[5])
        for row in db.execute("SELECT session_id, owner, expires, host, pid, since FROM locks")
    }
    calls: dict[str, list[str]] = {}
    for sid, call_id in db.execute("SELECT session_id, call_id FROM tool_calls ORDER BY started, call_id"):
        calls.setdefault(sid, []).append(call_id)
    return [
        SessionInfo(sid, count, created, updated, leases.get(sid), tuple(calls.get(sid, ())))
        for sid, count, created, updated in rows
    ]


def delete(db: sqlite3.Connection, session_id: str) -> bool:
    """Delete a session's history, lease and tool-call marks; False if it had none."""
    tables = (("sessions", "id"), ("messages", "session_id"), ("locks", "session_id"), ("tool_calls", "session_id"))
    found = sum(db.execute(f"DELETE FROM {t} WHERE {c} = ?", (session_id,)).rowcount for t, c in tables)
    return found > 0


def unlock(db: sqlite3.Connection, session_id: str) -> Lease | None:
    """Drop a session's lease, whoever holds it; the lease dropped, or None."""
    row = db.execute(
        "SELECT owner, expires, host, pid, since FROM locks WHERE session_id = ?", (session_id,)
    ).fetchone()
    db.execute("DELETE FROM locks WHERE session_id = ?", (session_id,))
    return None if row is None else Lease(owner=row[0], expires=row[1], host=row[2], pid=row[3], since=row[4])
