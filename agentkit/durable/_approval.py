"""Deciding a durable run's tool calls from any process: `approve()` and `pending_approvals()`.

A durable run waits for each call that needs approval on a DBOS topic of its own. The decision
is a message to the run's workflow, sent through the system database, so the process that
decides need not be the one running it, and the run may have restarted since it began waiting.
In a process that launched DBOS the message goes through it; elsewhere through a `DBOSClient`
on the same database (no workflow code needed).
"""

from __future__ import annotations

import os
from typing import Any

from ..errors import ConfigurationError
from . import _engine
from ._steps import PENDING_EVENT, approval_topic

__all__ = ["approve", "approve_async", "pending_approvals"]


def approve(
    run_id: str,
    call_id: str,
    decision: bool | str,
    *,
    database: str | os.PathLike[str] | None = None,
) -> None:
    """Send the decision on a pending tool call of a durable run.

    Args:
        run_id: The run's id (`DurableRun.run_id`).
        call_id: The tool call's id (`ToolCallReady.id`; `pending_approvals` lists them).
        decision: True runs the call; False denies it; a string denies it with that reason,
            which the model reads in the call's error result.
        database: The run's system database, when DBOS is not launched in this process
            (default as for `launch`).
    """
    if not isinstance(decision, bool | str):
        raise ConfigurationError(f"approve(): decision must be True, False or a reason string, not {decision!r}")
    if _engine.launched() is not None:
        from dbos import DBOS

        DBOS.send(run_id, decision, topic=approval_topic(call_id), idempotency_key=f"{run_id}:{call_id}")
        return
    client = _client(database)
    try:
        client.send(run_id, decision, topic=approval_topic(call_id), idempotency_key=f"{run_id}:{call_id}")
    finally:
        client.destroy()


async def approve_async(
    run_id: str,
    call_id: str,
    decision: bool | str,
    *,
    database: str | os.PathLike[str] | None = None,
) -> None:
    """`approve` from async code (a web handler deciding a call).

    Args:
        run_id: The run's id.
        call_id: The tool call's id.
        decision: True, False, or a reason to deny with.
        database: The run's system database, when DBOS is not launched in this process.
    """
    import anyio

    await anyio.to_thread.run_sync(lambda: approve(run_id, call_id, decision, database=database))


def pending_approvals(
    run_id: str, *, database: str | os.PathLike[str] | None = None, wait: float = 0
) -> list[dict[str, Any]]:
    """The tool calls a durable run is waiting on, as `{"id", "name", "input"}` dicts.

    Args:
        run_id: The run's id.
        database: The run's system database, when DBOS is not launched in this process.
        wait: Seconds to wait for the run to reach its first approval, when it has not yet.
    """
    if _engine.launched() is not None:
        from dbos import DBOS

        found = DBOS.get_event(run_id, PENDING_EVENT, timeout_seconds=wait)
    else:
        client = _client(database)
        try:
            found = client.get_event(run_id, PENDING_EVENT, timeout_seconds=wait)
        finally:
            client.destroy()
    return list(found or [])


def _client(database: str | os.PathLike[str] | None) -> Any:
    from dbos import DBOSClient

    return DBOSClient(system_database_url=_engine.database_url(database), application_name="agentkit")
