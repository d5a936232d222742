"""`agentkit worker` and `agentkit approve`: the command-line side of durable runs (agentkit[dbos]).

Only click is imported here: DBOS and the durable package are imported inside the commands, so
`agentkit --help` stays fast and works without the extra installed.
"""

from __future__ import annotations

from typing import Any

import click

__all__ = ["approve", "worker"]

_database_option = click.option(
    "--database",
    "-d",
    metavar="URL",
    help="The system database: postgresql://... or a SQLite path (default $AGENTKIT_DURABLE_DATABASE, "
    "else SQLite in the user's state directory).",
)


def _durable() -> Any:
    try:
        import agentkit.durable as durable
    except ImportError as exc:  # the extra is not installed
        raise click.ClickException(f"durable runs need DBOS: pip install 'agentkit[dbos]' ({exc})") from exc
    return durable


@click.command()
@click.argument("modules", nargs=-1, required=True)
@_database_option
@click.option(
    "--queue",
    "queue_items",
    multiple=True,
    metavar="NAME=LIMIT[/PER_WORKER]",
    help="Declare a queue and its global concurrency (and per-worker limit); repeatable.",
)
@click.option("--executor-id", metavar="ID", help="This worker's identity (default: host, pid and a random part).")
@click.option("--heartbeat", type=float, default=5.0, show_default=True, help="Seconds between heartbeats.")
@click.option(
    "--dead-after", type=float, default=30.0, show_default=True, help="Seconds of silence before a worker is dead."
)
@click.option("--poll", type=float, default=1.0, show_default=True, help="Seconds between looks at the queues.")
def worker(
    modules: tuple[str, ...],
    database: str | None,
    queue_items: tuple[str, ...],
    executor_id: str | None,
    heartbeat: float,
    dead_after: float,
    poll: float,
) -> None:
    """Run queued durable runs until SIGINT or SIGTERM.

    Imports MODULES (dotted names: the modules that create your DurableAgents), launches DBOS on
    the system database, runs the queues' runs, and takes over the runs of workers that died.
    """
    queues: dict[str, tuple[int | None, int | None]] = {}
    for item in queue_items:
        name, sep, limits = item.partition("=")
        total, _, per_worker = limits.partition("/")
        try:
            queues[name.strip()] = (int(total) if total else None, int(per_worker) if per_worker else None)
        except ValueError:
            raise click.BadParameter(f"{item!r} is not NAME=LIMIT[/PER_WORKER]", param_hint="--queue") from None
        if not sep or not name.strip():
            raise click.BadParameter(f"{item!r} is not NAME=LIMIT", param_hint="--queue")
    durable = _durable()
    click.echo(f"agentkit worker: serving {', '.join(modules)} on {durable.database_url(database)}", err=True)
    durable.serve(
        modules,
        database=database,
        queues=queues or None,
        executor_id=executor_id,
        heartbeat=heartbeat,
        dead_after=dead_after,
        polling_interval=poll,
    )


@click.command()
@click.argument("run_id")
@click.argument("call_id", required=False)
@click.option("--yes/--no", "decision", default=None, help="Run the call, or deny it.")
@click.option("--reason", help="With --no: why, for the model to read in the call's error result.")
@_database_option
def approve(run_id: str, call_id: str | None, decision: bool | None, reason: str | None, database: str | None) -> None:
    """Decide a tool call a durable run waits on (or list them).

    With CALL_ID and --yes or --no, sends the decision to the run RUN_ID (from any process on its
    database); without CALL_ID, lists the calls the run waits on, one per line.

    Exit codes: 0 sent (or listed), 2 bad usage.
    """
    import json

    durable = _durable()
    if call_id is None:
        for call in durable.pending_approvals(run_id, database=database):
            click.echo(f"{call['id']}\t{call['name']}\t{json.dumps(call['input'])}")
        return
    if decision is None:
        raise click.UsageError("give --yes or --no")
    if reason and decision:
        raise click.UsageError("--reason goes with --no")
    durable.approve(run_id, call_id, (reason or False) if not decision else True, database=database)
    click.echo(f"{'approved' if decision else 'denied'} {call_id} of run {run_id}", err=True)
