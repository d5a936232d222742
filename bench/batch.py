"""Dataset runs through Message Batches: 1,000 inputs of a 3-turn tool task, against the same runs live.

    .venv/bin/python -m bench.batch
    .venv/bin/python -m bench.batch --inputs 200 --faults 0.02

Each input asks about one city with `bench.cache`'s ~3,000-token system prompt; the model calls
`lookup`, then `population`, then answers: three model calls per run. The same runs go once live
(`Agent.run`, 100 at a time, the agent's defaults: 5-minute cache) and through `run_batch` with
each cache setting, all against `MessagesServer`, which prices caching like the service. Each
batch "takes" `--batch-minutes` as the prompt cache sees it, and the requests of one batch run
concurrently (each reads only what was cached before the batch). Printed per scenario: batches
(turns + resubmissions), the runner's own time (wall time less the server's time answering), and
the cost against the live runs (batch discount, cache writes 1.25x/2x, reads 0.1x).
`--faults` makes that share of first requests fail once (overloaded or expired), to show the
resubmissions.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio

from agentkit import Agent
from agentkit.batch import JobStore, Polling, batch_cost, run_batch
from agentkit.testing import Fault, MessagesServer, Reply, Request, tool_use
from agentkit.usage import Usage
from bench.cache import MODEL, SYSTEM


def lookup(city: str) -> str:
    """The country a city is in.

    Args:
        city: The city's name.
    """
    return f"{city} lies in Examplestan, region {len(city) % 7}."


def population(city: str) -> int:
    """How many people live in a city.

    Args:
        city: The city's name.
    """
    return 10_000 + 37 * len(city)


def model(request: Request) -> Reply:
    """lookup, then population, then the answer, decided from the tool results so far."""
    results = sum(1 for m in request.messages if m["role"] == "user" for b in _blocks(m) if b["type"] == "tool_result")
    city = str(request.messages[0]["content"]).removeprefix("Tell me about ")
    if results == 0:
        return Reply(content=[tool_use("lookup", {"city": city})])
    if results == 1:
        return Reply(content=[tool_use("population", {"city": city})])
    return Reply.text(f"{city} is a city of Examplestan with about {10_000 + 37 * len(city)} people. " * 3)


def _blocks(message: dict[str, Any]) -> list[dict[str, Any]]:
    content = message["content"]
    return [b for b in content if isinstance(b, dict)] if isinstance(content, list) else []


def faulty(share: float, seed: int = 7) -> Any:
    """`model`, with `share` of the first requests failing once (overloaded or expired)."""
    rng = random.Random(seed)
    failed: set[str] = set()

    def answer(request: Request) -> Reply | Fault:
        first = str(request.messages[0]["content"])
        if len(request.messages) == 1 and first not in failed and rng.random() < share:
            failed.add(first)
            return rng.choice([Fault.overloaded(), Fault.expired()])
        return model(request)

    return answer


@dataclass
class Row:
    name: str
    batches: int | str
    runner_seconds: float
    cost: float
    ok: int


def _agent(client: Any, **settings: Any) -> Agent:
    return Agent(model=MODEL, system=SYSTEM, tools=[lookup, population], client=client, **settings)


def _prompts(n: int) -> list[str]:
    return [f"Tell me about City{i:05d}" for i in range(n)]


async def live(n: int) -> Row:
    with MessagesServer(model) as server:
        agent = _agent(server.client())
        usage = Usage()
        limiter = anyio.Semaphore(100)
        ok = 0

        async def one(prompt: str) -> None:
            nonlocal ok
            async with limiter:
                result = await agent.run(prompt)
            usage.add(result.usage)
            ok += 1

        started = time.perf_counter()
        async with anyio.create_task_group() as tg:
            for prompt in _prompts(n):
                tg.start_soon(one, prompt)
        wall = time.perf_counter() - started
    return Row("live, `Agent.run` (5-minute cache)", "-", wall, batch_cost(usage, MODEL, batch=False) or 0.0, ok)


async def batched(n: int, name: str, *, minutes: float, faults: float, **options: Any) -> Row:
    with MessagesServer(faulty(faults) if faults else model) as server, tempfile.TemporaryDirectory() as folder:
        server.batches.simulated_duration = minutes * 60
        agent = _agent(server.client())
        store = JobStore(Path(folder) / "batches.sqlite3")
        started = time.perf_counter()
        result = await run_batch(
            agent, _prompts(n), store=store, polling=Polling(first=0.001, factor=1.5, cap=0.05), **options
        )
        wall = time.perf_counter() - started
        store.close()
        own = wall - server.batches.processing_seconds
    ok = sum(item.ok for item in result)
    return Row(name, len(result.batches), own, result.cost_usd or 0.0, ok)


async def scenarios(n: int, minutes: float, faults: float) -> list[Row]:
    rows = [await live(n)]
    rows.append(await batched(n, "batch, 1-hour cache + warm-up (default)", minutes=minutes, faults=faults))
    rows.append(await batched(n, "batch, 1-hour cache, no warm-up", minutes=minutes, faults=faults, warm_cache=False))
    rows.append(
        await batched(n, "batch, 1-hour cache on the history too", minutes=minutes, faults=faults, cache_history=True)
    )
    rows.append(
        await batched(n, "batch, 5-minute cache", minutes=minutes, faults=faults, cache_ttl="5m", cache_history=True)
    )
    return rows


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(prog="python -m bench.batch", description=__doc__.split("\n")[0])
    parser.add_argument("--inputs", type=int, default=1000)
    parser.add_argument("--batch-minutes", type=float, default=10.0, help="how long each batch takes, for the cache")
    parser.add_argument("--faults", type=float, default=0.0, help="share of first requests that fail once")
    parser.add_argument("--quick", action="store_true", help="100 inputs")
    args = parser.parse_args(argv)
    n = 100 if args.quick else args.inputs
    rows = anyio.run(scenarios, n, args.batch_minutes, args.faults)
    live_cost = rows[0].cost
    lines = [
        f"## Batches: {n} inputs of a 3-turn tool task, {args.batch_minutes:g} minutes a batch, faults {args.faults:g}",
        "",
        "| scenario | batches | runner's own time | per input | cost | x live | succeeded |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row.name} | {row.batches} | {row.runner_seconds:.2f} s | {1000 * row.runner_seconds / n:.2f} ms "
            f"| ${row.cost:.4f} | {row.cost / live_cost:.3f}x | {row.ok} |"
        )
    table = "\n".join(lines)
    print(table, flush=True)
    return table


if __name__ == "__main__":
    main()
