"""The cost of durability: a 3-turn run plain and as a DBOS workflow, on SQLite and on Postgres;
then the throughput of queued runs over 1, 2 and 3 `agentkit worker` processes.

    .venv/bin/python -m bench.durable                   # about 2 minutes
    .venv/bin/python -m bench.durable --quick           # SQLite only, a few runs, 100 queued runs
    .venv/bin/python -m bench.durable --no-postgres

Overhead: one process, one loopback MessagesServer (no latency), the plain and the durable run
interleaved, `--runs` each, median. A run is 3 model calls and 2 tool calls: 3 + 2x2 = 7 step
records (a tool call is a start marker and a result). Throughput: `--queued` one-call runs at
100 ms model latency, submitted through a DBOSClient to a Postgres queue served by N workers
(`--per-worker` runs at once each); the time from the first submit to the last finished run.
The Postgres cluster is a throwaway one (scripts/postgres.py), fsync off as for any test cluster.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio

from agentkit import Agent
from agentkit.testing import MessagesServer, Reply, Request, tool_use

ROOT = Path(__file__).resolve().parents[1]


def get_weather(city: str) -> str:
    """The weather in a city.

    Args:
        city: The city.
    """
    return f"18°C and light rain in {city}"


def three_turns(request: Request) -> Reply:
    done = sum(1 for m in request.messages for b in m["content"] if isinstance(b, dict) and b["type"] == "tool_result")
    if done < 2:
        return Reply(content=[tool_use("get_weather", {"city": ["Paris", "Oslo"][done]})])
    return Reply.text("Rain in both.")


# What `agentkit worker bench.durable` serves: a one-call agent on $ANTHROPIC_BASE_URL.
if os.environ.get("BENCH_DURABLE_WORKER"):
    from agentkit.durable import DurableAgent

    echo = DurableAgent(Agent(name="bench-echo", model="claude-sonnet-4-6"))


def _postgres() -> Any:
    spec = importlib.util.spec_from_file_location("agentkit_postgres", ROOT / "scripts" / "postgres.py")
    assert spec is not None
    assert spec.loader is not None
    module: Any = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def overhead(database: str, runs: int) -> tuple[float, float]:
    """Median ms per run, plain and durable, interleaved, on `database`."""
    from agentkit.durable import DurableAgent, _engine, launch, shutdown

    _engine._agents.clear()
    with MessagesServer(three_turns) as server:
        client = server.client(keep_alive=True)
        plain = Agent(name="plain", model="claude-sonnet-4-6", tools=[get_weather], client=client)
        durable = DurableAgent(Agent(name="durable", model="claude-sonnet-4-6", tools=[get_weather], client=client))
        launch(database)
        times: dict[str, list[float]] = {"plain": [], "durable": []}

        async def measure() -> None:
            for i in range(runs + 3):  # the first 3 warm up
                for name, run in (("plain", plain.run), ("durable", durable.run)):
                    started = time.perf_counter()
                    result = await run("Weather in Paris and Oslo?")
                    elapsed = time.perf_counter() - started
                    assert result.output == "Rain in both."
                    if i >= 3:
                        times[name].append(elapsed * 1000)
            await client.close()

        try:
            anyio.run(measure)
        finally:
            shutdown()
    return statistics.median(times["plain"]), statistics.median(times["durable"])


def throughput(url: str, workers: int, queued: int, per_worker: int) -> float:
    """Runs per second: `queued` one-call runs at 100 ms latency over `workers` worker processes.

    The workers are up before the runs are queued; the rate is taken from the database's own
    clock: from the first run's start to the last run's end.
    """
    import sqlalchemy as sa

    from agentkit.durable import submit

    with MessagesServer(lambda request: Reply.text("ok"), latency=0.1) as server:
        env = {
            **os.environ,
            "BENCH_DURABLE_WORKER": "1",
            "ANTHROPIC_BASE_URL": server.url,
            "ANTHROPIC_API_KEY": "sk-ant-test",
        }
        argv = [sys.executable, "-m", "agentkit", "worker", "bench.durable", "-d", url, "--poll", "0.05"]
        argv += ["--queue", f"bench=/{per_worker}", "--heartbeat", "1"]
        engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
        spawned = time.time()
        procs = [subprocess.Popen(argv, cwd=ROOT, env=env, stderr=subprocess.DEVNULL) for _ in range(workers)]
        try:
            _wait_for_workers(engine, workers, spawned)
            ids = [submit("bench-echo", f"task {i}", queue="bench", database=url) for i in range(queued)]
            span = sa.text(
                "select count(*), min(started_at_epoch_ms), max(completed_at) from dbos.workflow_status "
                "where workflow_uuid = any(:ids) and status = 'SUCCESS'"
            )
            while True:
                with engine.connect() as db:
                    done, first, last = db.execute(span, {"ids": ids}).one()
                if done == queued:
                    break
                time.sleep(0.2)
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                proc.wait(timeout=60)
            engine.dispose()
        assert len(server.requests) == queued
    return float(queued / ((last - first) / 1000))


def _wait_for_workers(engine: Any, workers: int, since: float) -> None:
    """Until every worker has launched and declared the queue (each writes a heartbeat row)."""
    import sqlalchemy as sa

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with engine.connect() as db:
            try:
                query = sa.text("select count(*) from agentkit_workers where seen_at > :since")
                seen = db.execute(query, {"since": since}).scalar()
            except sa.exc.ProgrammingError:
                seen = 0
        if seen and seen >= workers:
            break
        time.sleep(0.1)


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(prog="python -m bench.durable", description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, help="runs of each kind (default 30; 5 with --quick)")
    parser.add_argument("--queued", type=int, default=1000)
    parser.add_argument("--per-worker", type=int, default=50)
    parser.add_argument("--workers", default="1,2,3")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--quick", action="store_true", help="SQLite only, 5 runs")
    args = parser.parse_args(argv)
    runs = args.runs or (5 if args.quick else 30)
    lines = [
        "| database | plain run | durable run | extra per run | extra per call (5 calls) |",
        "|---|---|---|---|---|",
    ]

    def row(name: str, plain: float, durable: float) -> None:
        extra = durable - plain
        lines.append(f"| {name} | {plain:.1f} ms | {durable:.1f} ms | {extra:.1f} ms | {extra / 5:.1f} ms |")

    with tempfile.TemporaryDirectory() as tmp:
        row("SQLite", *overhead(str(Path(tmp) / "bench.sqlite"), runs))
    report = [f"## Durable runs: a 3-turn run (3 model calls, 2 tools), median of {runs}\n", *lines]
    if not (args.quick or args.no_postgres):
        with _postgres().throwaway_cluster() as url:
            row("Postgres", *overhead(url, runs))
            report = [report[0], *lines, ""]
            counts = [int(n) for n in args.workers.split(",")]
            report.append(
                f"### {args.queued} queued one-call runs, 100 ms model latency, {args.per_worker} at once per worker\n"
            )
            report += ["| workers | runs per second |", "|---|---|"]
            for count in counts:
                rate = throughput(url, count, args.queued, args.per_worker)
                report.append(f"| {count} | {rate:.0f} |")
    table = "\n".join(report)
    print(table, flush=True)
    return table


if __name__ == "__main__":
    main()
