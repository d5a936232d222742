"""Durable agent runs on DBOS (`pip install 'agentkit[dbos]'`): runs that survive crashes and restarts.

    from agentkit.durable import DurableAgent, launch

    durable = DurableAgent(agent)     # at import time, beside the agent
    launch()                          # SQLite in the user's state directory; launch("postgresql://...")
    result = durable.run_sync("...")  # a DBOS workflow: each model call and tool call a step

See docs/durable.md: what a step is, what survives what, queues and workers, approvals.
`import agentkit` never imports this package, nor DBOS.
"""

from __future__ import annotations

from ._agent import DurableAgent, DurableRun
from ._approval import approve, approve_async, pending_approvals
from ._engine import DEFAULT_QUEUE, database_url, launch, shutdown
from ._remote import result, submit
from ._steps import INTERRUPTED, ModelRetries
from ._worker import recover, serve

__all__ = [
    "DEFAULT_QUEUE",
    "INTERRUPTED",
    "DurableAgent",
    "DurableRun",
    "ModelRetries",
    "approve",
    "approve_async",
    "database_url",
    "launch",
    "pending_approvals",
    "recover",
    "result",
    "serve",
    "shutdown",
    "submit",
]
