"""`serve()`: a worker process that runs queued durable runs, and recovers those of dead workers.

DBOS recovers an executor's unfinished runs when that executor launches again. A worker that
dies for good (a lost machine) never does, so each worker writes a heartbeat to a small table in
the system database (`agentkit_workers`); a worker that sees another's heartbeat older than
`dead_after` hands that executor's PENDING runs back to the queues (DBOS's recovery, which lets
exactly one process take each run) and forgets it. A run is therefore never lost while one
worker lives, and never runs twice at once: a run of the dead worker is resumed from its steps.
"""

from __future__ import annotations

import importlib
import os
import threading
import time
from collections.abc import Sequence
from typing import Any

from . import _engine

__all__ = ["serve"]

_TABLE = "agentkit_workers"


def serve(
    modules: Sequence[str] = (),
    *,
    database: str | os.PathLike[str] | None = None,
    queues: dict[str, int | tuple[int | None, int | None] | None] | None = None,
    executor_id: str | None = None,
    heartbeat: float = 5.0,
    dead_after: float = 30.0,
    polling_interval: float = 1.0,
    stop: threading.Event | None = None,
) -> None:
    """Import `modules` (which create the DurableAgents), launch DBOS, and serve until stopped.

    Args:
        modules: Modules to import first, by dotted name (`myapp.agents`).
        database: The system database shared by the workers (a Postgres URL across machines).
        queues: Queues to declare, as for `launch`.
        executor_id: This worker's identity; default unique to the process.
        heartbeat: Seconds between two heartbeats of this worker.
        dead_after: A worker silent for this long is dead: its runs go to the others.
        polling_interval: Seconds between two looks at the queues.
        stop: Serve until this event is set (default: until SIGINT or SIGTERM).
    """
    for name in modules:
        importlib.import_module(name)
    executor = executor_id or _engine.unique_executor_id()
    engine = _engine.launch(database, queues=queues, executor_id=executor, polling_interval=polling_interval)
    stop = stop or _stop_on_signals()
    beats = Heartbeats(engine.url, executor)
    try:
        while not stop.is_set():
            for dead in beats.beat(dead_after):
                recover(dead)
            stop.wait(heartbeat)
    finally:
        beats.leave()
        _engine.shutdown()


def recover(executor_id: str) -> int:
    """Hand the PENDING runs of a dead executor back to the queues; how many there were."""
    from dbos import DBOS

    # DBOS's own recovery (what its admin server's /dbos-workflow-recovery calls): it re-enqueues
    # each workflow, and the queue's atomic dequeue admits exactly one runner.
    return len(DBOS._recover_pending_workflows([executor_id]))


class Heartbeats:
    """This worker's row in `agentkit_workers`, and the rows of workers that went silent."""

    def __init__(self, url: str, executor_id: str) -> None:
        import sqlalchemy as sa

        self.executor_id = executor_id
        self._sa = sa
        self._engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
        self._table = sa.Table(
            _TABLE,
            sa.MetaData(),
            sa.Column("executor_id", sa.String, primary_key=True),
            sa.Column("seen_at", sa.Float, nullable=False),
        )
        self._table.create(self._engine, checkfirst=True)

    def beat(self, dead_after: float) -> list[str]:
        """Record this worker alive; claim and return the executors silent for `dead_after` s."""
        sa, table, now = self._sa, self._table, time.time()
        with self._engine.begin() as db:
            updated = db.execute(sa.update(table).where(table.c.executor_id == self.executor_id).values(seen_at=now))
            if updated.rowcount == 0:
                db.execute(sa.insert(table).values(executor_id=self.executor_id, seen_at=now))
            stale = db.execute(sa.select(table.c.executor_id).where(table.c.seen_at < now - dead_after)).scalars()
            dead = list(stale)
            claimed = []
            for executor in dead:  # the delete is the claim: of two live workers, one deletes the row
                if db.execute(sa.delete(table).where(table.c.executor_id == executor)).rowcount:
                    claimed.append(executor)
        return claimed

    def leave(self) -> None:
        """A clean stop: this worker's runs are recovered by itself at its next launch, or by a sweep."""
        self._engine.dispose()


def _stop_on_signals() -> threading.Event:
    import signal

    stop = threading.Event()

    def handler(signum: int, frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    return stop
