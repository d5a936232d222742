"""Many live runs against a rate-limited server: agentkit paced, a gather + semaphore raw SDK loop, agentkit unpaced.

    .venv/bin/python -m bench.pacing                 # 1,000 runs each (the figures docs/pacing.md quotes)
    .venv/bin/python -m bench.pacing --quick         # 100 runs each, 100 requests a 1-second minute
    .venv/bin/python -m bench.pacing --runs 500 --minute 3 --rpm 400 --itpm 200000

The task is `bench/task.py`'s (three model calls, three tool calls). The offline server enforces
per-model limits (`agentkit.testing.RateLimits`: requests and input tokens per minute, continuously
refilling buckets, the API's headers, 429 with `retry-after`) with its minute scaled down to a few
seconds, so a run of the bench that would take ten minutes at the API's pace takes one. It runs in
a subprocess, as in `bench/agent_loop.py`; each contender gets a fresh one (full buckets).

The contenders, each over the SDK's pooled client with its default `max_retries=2`:

- **agentkit, paced**: `map_runs(agent, prompts)`, no concurrency cap: the pacer decides.
- **raw SDK loop, gather + semaphore of 50**: `asyncio.gather` over the hand-written loop, what
  users write today; the SDK retries each 429 twice after `retry-after`, then the run fails.
- **agentkit, unpaced**: the same agent with `pacing = False`, `map_runs(..., concurrency=50)`.

Reported: 429s the server sent, runs completed (with the right answer), requests admitted, and the
throughput as a share of the most the binding limit allows over the contender's wall time (a full
bucket at the start plus its refill since: `limit + limit * minutes`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.task import FINAL, MAX_TOKENS, MODEL, PROMPT, SYSTEM, convert_currency, get_weather, raw_sdk, scripted_model

ROOT = Path(__file__).resolve().parent.parent
API_KEY = "sk-ant-bench-not-a-real-key"


def serve(rpm: int, itpm: int, minute: float, latency: float) -> None:
    """Serve the scripted model with rate limits until stdin closes; then print what the limiter counted."""
    from agentkit.testing import MessagesServer, RateLimits

    limits = RateLimits(requests_per_minute=rpm, input_tokens_per_minute=itpm, minute=minute)
    with MessagesServer(scripted_model, latency=latency, rate_limits=limits) as server:
        print(server.url, flush=True)
        sys.stdin.read()
        cpu = time.process_time()
        limiter = server.rate_limiter
        assert limiter is not None
        report = {
            "admitted": limiter.admitted,
            "rejected": limiter.rejected,
            "charged": limiter.charged,
            "bad": [problem for _request, problem in server.rejected[:3]],
            "cpu": cpu,
        }
        print(json.dumps(report), flush=True)


@dataclass
class Outcome:
    name: str
    runs: int
    completed: int
    wall: float
    admitted: int
    rejected: int
    input_tokens: float
    server_cpu: float


@contextmanager
def server_process(args: argparse.Namespace, report: dict[str, Any]) -> Iterator[str]:
    command = [sys.executable, "-m", "bench.pacing", "--serve", f"{args.rpm},{args.itpm},{args.minute},{args.latency}"]
    process = subprocess.Popen(command, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert process.stdin is not None
    assert process.stdout is not None
    try:
        url = process.stdout.readline().strip()
        if not url.startswith("http://"):
            raise RuntimeError(f"the benchmark server did not start: {url!r}")
        yield url
    finally:
        process.stdin.close()
        report.update(json.loads(process.stdout.read().strip() or "{}"))
        process.wait(timeout=30)
    if report.get("bad"):
        raise RuntimeError(f"the benchmark server saw requests the API would reject: {report['bad']}")


async def agentkit_runs(url: str, runs: int, *, paced: bool) -> int:
    import anthropic

    from agentkit import Agent
    from agentkit.fanout import map_runs

    async with anthropic.AsyncAnthropic(base_url=url, api_key=API_KEY, max_retries=2) as client:
        tools = [get_weather, convert_currency]
        agent = Agent(model=MODEL, system=SYSTEM, tools=tools, max_tokens=MAX_TOKENS, client=client, pacing=paced)
        completed = 0
        async for outcome in map_runs(agent, [PROMPT] * runs, concurrency=None if paced else 50):
            completed += outcome.ok and outcome.result is not None and outcome.result.output == FINAL
        return completed


async def gather_runs(url: str, runs: int) -> int:
    import anthropic

    async with anthropic.AsyncAnthropic(base_url=url, api_key=API_KEY, max_retries=2) as client:
        run = raw_sdk(client)
        semaphore = asyncio.Semaphore(50)

        async def one() -> bool:
            async with semaphore:
                try:
                    return await run() == FINAL
                except anthropic.APIStatusError:
                    return False

        return sum(await asyncio.gather(*(one() for _ in range(runs))))


CONTENDERS = {
    "agentkit, paced": lambda url, runs: agentkit_runs(url, runs, paced=True),
    "raw SDK loop, gather + semaphore of 50": gather_runs,
    "agentkit, unpaced": lambda url, runs: agentkit_runs(url, runs, paced=False),
}


def measure(name: str, args: argparse.Namespace) -> Outcome:
    import anthropic  # noqa: F401 - imported before the clock starts

    import agentkit.fanout  # noqa: F401

    report: dict[str, Any] = {}
    with server_process(args, report) as url:
        started = time.perf_counter()
        completed = asyncio.run(CONTENDERS[name](url, args.runs))
        wall = time.perf_counter() - started
    charged = report["charged"]["input-tokens"]
    return Outcome(name, args.runs, completed, wall, report["admitted"], report["rejected"], charged, report["cpu"])


def share(used: float, limit: int, wall: float, minute: float) -> float:
    """`used` as a share of the most a bucket of `limit` per `minute` allows in `wall` seconds."""
    return used / (limit + limit * wall / minute)


def table(outcomes: list[Outcome], args: argparse.Namespace) -> str:
    lines = [
        f"{args.runs:,} runs of the 3-call tool task per contender; limits {args.rpm:,} requests and "
        f"{args.itpm:,} input tokens per minute, a minute lasting {args.minute:g} s; "
        f"{args.latency * 1000:g} ms server latency.",
        "",
        "| contender | 429s (share of requests) | runs completed | requests admitted | wall | "
        "throughput, share of the binding limit | server CPU busy |",
        "|---|---|---|---|---|---|---|",
    ]
    for o in outcomes:
        sent = o.admitted + o.rejected
        requests = share(o.admitted, args.rpm, o.wall, args.minute)
        tokens = share(o.input_tokens, args.itpm, o.wall, args.minute)
        binding = "input tokens" if tokens >= requests else "requests"
        lines.append(
            f"| {o.name} | {o.rejected:,} ({o.rejected / max(sent, 1):.1%}) | {o.completed:,} of {o.runs:,} | "
            f"{o.admitted:,} | {o.wall:.1f} s | {max(tokens, requests):.1%} ({binding}) | {o.server_cpu / o.wall:.0%} |"
        )
    return "\n".join(lines)


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.pacing", description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, help="runs per contender (1,000)")
    parser.add_argument("--rpm", type=int, default=400, help="requests per minute (400)")
    parser.add_argument("--itpm", type=int, default=200_000, help="input tokens per minute (200,000)")
    parser.add_argument("--minute", type=float, help="seconds a minute lasts (10)")
    parser.add_argument("--latency", type=float, default=0.05, help="server latency per model call (0.05 s)")
    parser.add_argument("--contenders", help=f"comma-separated, from: {'; '.join(CONTENDERS)} (all)")
    parser.add_argument("--quick", action="store_true", help="100 runs, 100 requests a 1-second minute")
    parser.add_argument("--serve", help=argparse.SUPPRESS)  # the server subprocess: rpm,itpm,minute,latency
    args = parser.parse_args(argv)
    args.runs = args.runs or (100 if args.quick else 1000)
    args.minute = args.minute or (1.0 if args.quick else 10.0)
    if args.quick:
        args.rpm, args.itpm = 100, 50_000
    return args


def main(argv: list[str] | None = None) -> str:
    args = parse(argv)
    if args.serve:
        rpm, itpm, minute, latency = args.serve.split(",")
        serve(int(rpm), int(itpm), float(minute), float(latency))
        return ""
    names = args.contenders.split(";") if args.contenders else list(CONTENDERS)
    outcomes = []
    for name in names:
        outcomes.append(measure(name.strip(), args))
        print(f"  {name}: done in {outcomes[-1].wall:.1f} s", file=sys.stderr, flush=True)
    report = "## Pacing: many runs against a rate-limited server\n\n" + table(outcomes, args)
    print(report, flush=True)
    return report


if __name__ == "__main__":
    main()
