"""Durable runs from a process that runs no agents (a web server, a script): submit, then wait.

A `DBOSClient` talks to the system database only, so the process needs neither the agents' code
nor a launched DBOS: `submit` puts a run on a queue that `agentkit worker`s serve, and `result`
waits for it to finish wherever it ran.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from . import _engine
from ._agent import WORKFLOW, run_request

if TYPE_CHECKING:
    from anthropic.types import MessageParam

    from ..agent import Prompt
    from ..result import RunResult

__all__ = ["result", "submit"]

_clients: dict[str, Any] = {}
_lock = threading.Lock()


def submit(
    agent_name: str,
    prompt: Prompt,
    *,
    vars: dict[str, Any] | None = None,
    history: Sequence[MessageParam] | None = None,
    deps: Any = None,
    queue: str = _engine.DEFAULT_QUEUE,
    run_id: str | None = None,
    database: str | os.PathLike[str] | None = None,
) -> str:
    """Queue a run of the durable agent named `agent_name` for the workers; returns its run id.

    Args:
        agent_name: The `DurableAgent`'s name, as the workers define it.
        prompt: The user's prompt.
        vars: Template variables over the agent's defaults.
        history: Earlier `RunResult.messages` to go on from.
        deps: Reach tools through `RunContext.deps`; picklable.
        queue: The queue the workers serve.
        run_id: The run's id; one already used is not queued again.
        database: The workers' system database (default as for `launch`).
    """
    from dbos import EnqueueOptions

    run_id = run_id or uuid.uuid4().hex
    options: EnqueueOptions = {"workflow_name": WORKFLOW, "queue_name": queue, "workflow_id": run_id}
    _client(database).enqueue(options, agent_name, run_request(agent_name, prompt, vars, history, deps, False))
    return run_id


def result(run_id: str, *, database: str | os.PathLike[str] | None = None) -> RunResult[Any]:
    """Wait for the durable run `run_id` to finish, in whichever process, and return its result.

    Args:
        run_id: The run's id.
        database: The run's system database (default as for `launch`).
    """
    found: RunResult[Any] = _client(database).retrieve_workflow(run_id).get_result()
    return found


def _client(database: str | os.PathLike[str] | None) -> Any:
    """One `DBOSClient` per database for the process (a client holds a connection pool)."""
    from dbos import DBOS, DBOSClient

    url = _engine.database_url(database)
    with _lock:
        client = _clients.get(url)
        if client is None:
            DBOS.migrate(url)  # a client never creates the tables; the first submit may precede every worker
            client = _clients[url] = DBOSClient(system_database_url=url, application_name="agentkit")
    return client
