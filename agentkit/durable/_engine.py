"""DBOS for this process: where its system database is, launching it once, and shutting it down.

DBOS is a library with one instance per process (`DBOS(config=...)`, then `DBOS.launch()`). At
launch it recovers the workflows this executor left PENDING (a killed process), so every
`DurableAgent` must exist before `launch()`: a recovered run looks its agent up by name.

The system database: `database=` if given, else `$AGENTKIT_DURABLE_DATABASE`, else a SQLite
file in the user's state directory (platformdirs). A Postgres URL spreads runs over machines.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ConfigurationError

if TYPE_CHECKING:
    from ._agent import DurableAgent

__all__ = ["DEFAULT_QUEUE", "Engine", "database_url", "engine", "launch", "shutdown"]

DEFAULT_QUEUE = "agentkit"
ENV_DATABASE = "AGENTKIT_DURABLE_DATABASE"
_APP_NAME = "agentkit"


def database_url(database: str | os.PathLike[str] | None = None) -> str:
    """The system database as a SQLAlchemy URL: a URL as given, a path as SQLite, else the default.

    Args:
        database: A `postgresql://...` or `sqlite:///...` URL, a path to a SQLite file, or None
            for `$AGENTKIT_DURABLE_DATABASE`, else `<user state dir>/agentkit/durable.sqlite`.
    """
    given = os.fspath(database) if database is not None else os.environ.get(ENV_DATABASE)
    if not given:
        import platformdirs

        state = Path(platformdirs.user_state_dir("agentkit", appauthor=False))
        state.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{state / 'durable.sqlite'}"
    if given.startswith(("postgres://", "postgresql://", "postgresql+psycopg://")):
        return given.replace("postgres://", "postgresql://", 1)
    if given.startswith("sqlite:///"):
        return given
    if "://" in given:
        raise ConfigurationError(
            f"agentkit.durable: the database {given!r} is neither a postgresql:// nor a sqlite:/// URL; "
            "pass one of those, or a path to a SQLite file"
        )
    path = Path(given).expanduser().resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


@dataclass
class Engine:
    """The launched DBOS of this process and what agentkit registered with it."""

    url: str
    executor_id: str
    application_version: str
    queues: dict[str, tuple[int | None, int | None]]


_lock = threading.Lock()
_engine: Engine | None = None
_agents: dict[str, DurableAgent] = {}


def register(agent: DurableAgent) -> None:
    """Make `agent` known by name, so runs started or recovered in this process can find it."""
    with _lock:
        if _engine is not None and agent.name not in _agents:
            raise ConfigurationError(
                f"DurableAgent {agent.name!r} was created after agentkit.durable.launch(): create every "
                "DurableAgent first (at import time, beside the Agent), so recovered runs find theirs"
            )
        known = _agents.get(agent.name)
        if known is not None and known is not agent and known.fingerprint != agent.fingerprint:
            raise ConfigurationError(
                f"Two different DurableAgents are named {agent.name!r}; a durable run finds its agent by name, "
                "so give one of them another name: DurableAgent(agent, name=...)"
            )
        _agents[agent.name] = agent


def agent_named(name: str) -> DurableAgent:
    """The durable agent a workflow runs, or an error that says what to import."""
    found = _agents.get(name)
    if found is None:
        known = ", ".join(sorted(_agents)) or "none"
        raise ConfigurationError(
            f"This process has no DurableAgent named {name!r} (it has: {known}); import the module that "
            "creates it before agentkit.durable.launch() (`agentkit worker MODULE`)"
        )
    return found


def engine() -> Engine:
    """The launched engine, launching one with the defaults if there is none yet."""
    return _engine if _engine is not None else launch()


def launched() -> Engine | None:
    """The launched engine, or None."""
    return _engine


def launch(
    database: str | os.PathLike[str] | None = None,
    *,
    queues: Mapping[str, int | tuple[int | None, int | None] | None] | None = None,
    executor_id: str | None = None,
    application_version: str | None = None,
    polling_interval: float = 1.0,
) -> Engine:
    """Start DBOS in this process (once): recover this executor's unfinished runs, serve queues.

    Args:
        database: The system database (see `database_url`): None for the SQLite default.
        queues: Queues to declare, name -> global concurrency (None: unlimited), or
            name -> (global, per-worker) concurrency. The `agentkit` queue always exists.
        executor_id: This process's identity in the database. Runs left PENDING by an executor
            are recovered when it launches again with the same id (default "local", which
            suits one process per machine); workers on a shared Postgres get a unique one each.
        application_version: Recovery and queues only hand a run to processes of the version
            that started it. Default: a hash of every DurableAgent's definition (name, model,
            system prompt, tools and their schemas), so changing an agent starts a new version.
        polling_interval: Seconds between two looks at the queues for runs to start.
    """
    global _engine
    with _lock:
        if _engine is not None:
            return _engine
        from dbos import DBOS

        url = database_url(database)
        if url.startswith("sqlite:///"):
            _write_ahead_log(url.removeprefix("sqlite:///"))
        version = application_version or _version()
        config: dict[str, Any] = {
            "name": _APP_NAME,
            "system_database_url": url,
            "application_version": version,
            "executor_id": executor_id or "local",
            "log_level": os.environ.get("AGENTKIT_DURABLE_LOG_LEVEL", "WARNING"),
            "notification_listener_polling_interval_sec": min(polling_interval, 1.0),
        }
        DBOS(config=config)  # type: ignore[arg-type]  # DBOSConfig is a TypedDict of optionals
        DBOS.launch()
        declared: dict[str, tuple[int | None, int | None]] = {DEFAULT_QUEUE: (None, None)}
        for name, limits in (queues or {}).items():
            declared[name] = limits if isinstance(limits, tuple) else (limits, None)

        def register_queues() -> None:
            for name, (total, per_worker) in declared.items():
                DBOS.register_queue(
                    name,
                    global_concurrency=total,
                    worker_concurrency=per_worker,
                    polling_interval_sec=polling_interval,
                    on_conflict="always_update",
                )

        _off_loop(register_queues)
        _engine = Engine(url, executor_id or "local", version, declared)
        return _engine


def _off_loop(call: Callable[[], None]) -> None:
    """Run DBOS's blocking `call` in a thread of its own: DBOS refuses sync calls inside an event loop."""
    errors: list[BaseException] = []

    def target() -> None:
        try:
            call()
        except BaseException as exc:  # re-raised in the caller's thread
            errors.append(exc)

    thread = threading.Thread(target=target, name="agentkit-durable-launch")
    thread.start()
    thread.join()
    if errors:
        raise errors[0]


def shutdown() -> None:
    """Stop DBOS in this process; runs in flight stay PENDING and are recovered at the next launch."""
    global _engine
    with _lock:
        if _engine is None:
            return
        from dbos import DBOS

        DBOS.destroy(destroy_registry=False)
        _engine = None


def _write_ahead_log(path: str) -> None:
    """Put the SQLite file in WAL mode (it stays so): one fsync per commit instead of several.

    DBOS's default rollback journal syncs the journal and the database on every commit: about
    40 ms per step on a virtual disk, against 3 ms with the WAL, every commit still durable
    (`synchronous=FULL`, SQLite's default, syncs the WAL on each commit).
    """
    import sqlite3

    with contextlib.closing(sqlite3.connect(path, timeout=30)) as db:
        db.execute("PRAGMA journal_mode=WAL")


def unique_executor_id() -> str:
    """An executor id for one worker process on a shared database: host, pid and a random part."""
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def _version() -> str:
    """A hash of the durable agents' definitions: a run replays only on the code that started it."""
    from importlib.metadata import version

    digest = hashlib.sha256(f"agentkit {version('agentkit-claude')}".encode())  # the distribution's name
    for name in sorted(_agents):
        digest.update(_agents[name].fingerprint.encode())
    return "agentkit-" + digest.hexdigest()[:16]
