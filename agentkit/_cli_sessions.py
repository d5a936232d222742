"""`agentkit sessions`: list, show, delete and unlock the sessions of a SQLite session store.

Like the rest of the CLI this imports only click at the top (`agentkit --help` stays fast); the store
is imported by the commands. Exit codes: 0 success, 1 the store failed (damaged, unreadable) or
refused (deleting a session a live run holds), 2 bad usage (an unknown session id included).
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

if TYPE_CHECKING:
    from .sessions import Lease, SessionInfo, SQLiteSessionStore

T = TypeVar("T")
STORE_FAILED = 1
BAD_USAGE = 2

_db_option = click.option(
    "--db",
    metavar="PATH",
    help="The session store file (default: $AGENTKIT_SESSIONS, else sessions.sqlite3 in the user's state folder).",
)
_json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")


@click.group(name="sessions")
def sessions() -> None:
    """List, show, delete and unlock durable sessions.

    Sessions are what `run --session ID` and `chat --session ID` keep. Exit codes: 0 success, 1 the
    store failed or refused, 2 bad usage or an unknown session id.
    """


@sessions.command(name="list")
@_db_option
@_json_option
def list_sessions(db: str | None, as_json: bool) -> None:
    """List the stored sessions, the most recently updated first."""
    store = _store(db)
    infos = _call(store.sessions) if store.path.exists() else []  # listing never creates a store
    if as_json:
        click.echo(json.dumps([_info_json(info) for info in infos], indent=2))
        return
    if not infos:
        click.echo(f"No sessions in {store.path}")
        return
    width = max(len("ID"), *(len(info.id) for info in infos))
    click.echo(f"{'ID':<{width}}  {'MESSAGES':>8}  {'UPDATED':<20}  LOCK")
    for info in infos:
        unfinished = f"; {len(info.unfinished)} unfinished tool calls" if info.unfinished else ""
        click.echo(
            f"{info.id:<{width}}  {info.messages:>8}  {_when(info.updated):<20}  {_lock(info.lease)}{unfinished}"
        )


@sessions.command()
@click.argument("session_id", metavar="ID")
@_db_option
@_json_option
def show(session_id: str, db: str | None, as_json: bool) -> None:
    """Print a session: its lock, its unfinished tool calls and every message (damaged ones marked)."""
    from .sessions._codec import decode

    store = _store(db)
    info = _known(store, session_id)
    decoded = [decode(session_id, seq, text) for seq, text in enumerate(_call(store.rows, session_id))]
    if as_json:
        messages = [m if m is not None else {"damaged": problem} for m, problem in decoded]
        click.echo(json.dumps({**_info_json(info), "history": messages}, indent=2, ensure_ascii=False))
        return
    click.echo(f"Session {session_id!r} in {store.path}")
    click.echo(f"  {info.messages} messages, updated {_when(info.updated)}, created {_when(info.created)}")
    click.echo(f"  lock: {_lock(info.lease)}")
    if info.unfinished:
        click.echo(f"  tool calls started and not finished: {', '.join(info.unfinished)}")
    for seq, (message, problem) in enumerate(decoded):
        click.echo(f"[{seq}] DAMAGED: {problem}" if message is None else f"[{seq}] {_message_text(message)}")


@sessions.command()
@click.argument("session_id", metavar="ID")
@_db_option
@click.option("--force", is_flag=True, help="Delete it even if a live run holds its lease.")
def delete(session_id: str, db: str | None, force: bool) -> None:
    """Delete a session: its history, its lock and its tool-call records."""
    store = _store(db)
    info = _known(store, session_id)
    if info.lease is not None and info.lease.expires > time.time() and not force:
        _fail(
            f"Error: session {session_id!r} is held by a run ({_lock(info.lease)}); wait for it to finish, "
            f"or pass --force if that run is dead",
            STORE_FAILED,
        )
    _call(store.delete, session_id)
    click.echo(f"Deleted session {session_id!r} ({info.messages} messages) from {store.path}")


@sessions.command()
@click.argument("session_id", metavar="ID")
@_db_option
def unlock(session_id: str, db: str | None) -> None:
    """Drop a session's lock, left by a run that died (SessionBusy names the session to unlock).

    A run that is in fact alive takes its lock back at its next renewal, unless another run took
    the session meanwhile; then it stops at its next save with SessionBusy.
    """
    store = _store(db)
    _known(store, session_id)
    lease = _call(store.unlock, session_id)
    if lease is None:
        click.echo(f"Session {session_id!r} was not locked")
    else:
        click.echo(f"Unlocked session {session_id!r} (it was {_lock(lease)})")


# -- helpers -----------------------------------------------------------------------------------


def _store(db: str | None) -> SQLiteSessionStore:
    from .sessions import SQLiteSessionStore

    return SQLiteSessionStore(db)


def _call(method: Callable[..., Awaitable[T]], *args: Any) -> T:
    """Run a store method; a store failure is exit 1 with its message (path and fix), a bad id exit 2."""
    import anyio

    from .errors import InputError, SessionStoreError

    try:
        return anyio.run(method, *args)
    except SessionStoreError as exc:
        _fail(f"Error: {exc}", STORE_FAILED)
    except InputError as exc:
        _fail(f"Error: {exc}", BAD_USAGE)


def _known(store: SQLiteSessionStore, session_id: str) -> SessionInfo:
    info = _call(store.info, session_id) if store.path.exists() else None
    if info is None:
        _fail(f"Error: no session {session_id!r} in {store.path}; `agentkit sessions list` shows them", BAD_USAGE)
    return info


def _fail(message: str, code: int) -> NoReturn:
    click.echo(message, err=True)
    raise click.exceptions.Exit(code)


def _when(stamp: float) -> str:
    return datetime.fromtimestamp(stamp, UTC).strftime("%Y-%m-%d %H:%M:%S")


def _iso(stamp: float) -> str:
    return datetime.fromtimestamp(stamp, UTC).isoformat().replace("+00:00", "Z")


def _lock(lease: Lease | None) -> str:
    if lease is None:
        return "-"
    left = lease.expires - time.time()
    state = f"expires in {left:.0f} s" if left > 0 else f"expired {-left:.0f} s ago"
    return f"held by {lease.owner} (pid {lease.pid} on {lease.host}), {state}"


def _info_json(info: SessionInfo) -> dict[str, Any]:
    lease = info.lease
    return {
        "id": info.id,
        "messages": info.messages,
        "created": _iso(info.created),
        "updated": _iso(info.updated),
        "lease": None
        if lease is None
        else {
            "owner": lease.owner,
            "expires": _iso(lease.expires),
            "host": lease.host,
            "pid": lease.pid,
            "since": _iso(lease.since),
        },
        "unfinished": list(info.unfinished),
    }


def _message_text(message: Any) -> str:
    content = message["content"]
    if isinstance(content, str):
        return f"{message['role']}: {content}"
    parts = []
    for block in content:
        kind = block["type"]
        if kind == "text":
            parts.append(block.get("text", ""))
        elif kind == "tool_use":
            parts.append(f"[tool_use {block.get('name')} {block.get('id')}] {json.dumps(block.get('input'))}")
        elif kind == "tool_result":
            error = " error" if block.get("is_error") else ""
            parts.append(f"[tool_result{error} {block.get('tool_use_id')}] {_result_text(block.get('content'))}")
        else:
            parts.append(f"[{kind}]")
    return f"{message['role']}: " + "\n    ".join(parts)


def _result_text(content: Any) -> str:
    if isinstance(content, str) or content is None:
        return content or ""
    return " ".join(b.get("text", f"[{b.get('type')}]") for b in content if isinstance(b, dict))
