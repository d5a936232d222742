"""One agent task on agentkit, a hand-written raw SDK loop (the floor), the SDK's tool runner and pydantic-ai.

    .venv/bin/python -m bench.agent_loop                      # the figures docs/performance.md quotes
    .venv/bin/python -m bench.agent_loop --quick              # smaller sizes, ~15 s
    .venv/bin/python -m bench.agent_loop --runs 500 --concurrency 100,1000,2000
    .venv/bin/python -m bench.agent_loop --profile agentkit   # cProfile of one contender's runs

The task (`bench/task.py`): three model calls, three tool calls, two of them in parallel in the first
turn. Every contender talks to the same offline `MessagesServer` through the SDK's pooled
`AsyncAnthropic` client, in one process, and the contenders take turns (round-robin, the order
rotated each round) so that a noisy machine slows them all alike.

The server runs in a subprocess, not in a thread of this one: then `time.process_time()` is the
contenders' CPU alone (SDK, HTTP, JSON, the framework; the server's validation and token accounting
would otherwise be a large and uneven share of it), the server does not compete with them for the
GIL, and on a 2-core machine it has a core of its own, as a remote API would.

Printed per contender: time per run (median and quartiles) and its ratio to the floor (the median of
per-round ratios), CPU per model call, the peak of Python allocations during a run (tracemalloc,
measured in separate runs since tracing slows them), and with `--latency` (100 ms) on every model
call, the wall time of N concurrent runs against the ideal of 3 x latency.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from bench.shapes import Shape, shapes
from bench.shapes import chosen as chosen_shapes
from bench.task import CALLS_PER_RUN, CONTENDERS, FINAL, FLOOR, available, scripted_model

if TYPE_CHECKING:
    import anthropic

ROOT = Path(__file__).resolve().parent.parent
API_KEY = "sk-ant-bench-not-a-real-key"
T = TypeVar("T")


# -- the server, in a subprocess ---------------------------------------------------------------------


def serve(latency: float) -> None:
    """Serve the scripted model until stdin closes; then report requests the real API would reject.

    Every response carries the `anthropic-ratelimit-*` headers, as the API's do (and every contender
    reads them: agentkit paces by them), with limits no run here comes near.
    """
    from agentkit.testing import MessagesServer, RateLimits

    limits = RateLimits(requests_per_minute=10**7, input_tokens_per_minute=10**11, output_tokens_per_minute=10**10)
    with MessagesServer(scripted_model, latency=latency, rate_limits=limits) as server:
        print(server.url, flush=True)
        sys.stdin.read()
        for _request, problem in server.rejected[:3]:
            print(f"rejected: {problem}", flush=True)
        for error in server.errors[:3]:
            print(f"handler error: {error!r}", flush=True)


@dataclass(frozen=True)
class Server:
    url: str
    pid: int

    def cpu(self) -> float:
        """The server process's CPU seconds so far (Linux; 0 elsewhere)."""
        try:
            fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def server_process(latency: float) -> Iterator[Server]:
    """A `serve(latency)` subprocess, stopped on exit (failing if it saw a request the API would reject)."""
    command = [sys.executable, "-m", "bench.agent_loop", "--serve", str(latency)]
    process = subprocess.Popen(command, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert process.stdin is not None
    assert process.stdout is not None
    try:
        url = process.stdout.readline().strip()
        if not url.startswith("http://"):
            raise RuntimeError(f"the benchmark server did not start: {url!r}")
        yield Server(url, process.pid)
    finally:
        process.stdin.close()
        report = process.stdout.read().strip()
        process.wait(timeout=30)
    if report:
        raise RuntimeError(f"the benchmark server saw bad requests:\n{report}")


def make_client(url: str) -> anthropic.AsyncAnthropic:
    """The SDK's client with its default (pooled) HTTP client, as `MessagesServer.client(keep_alive=True)`."""
    import anthropic

    return anthropic.AsyncAnthropic(base_url=url, api_key=API_KEY, max_retries=2)


# -- measurements -----------------------------------------------------------------------------------


@dataclass
class Figures:
    wall: list[float] = field(default_factory=list)  # seconds per run, in round order
    cpu: list[float] = field(default_factory=list)  # CPU seconds per run
    peak: list[int] = field(default_factory=list)  # bytes, tracemalloc peak per run
    concurrent: dict[int, list[tuple[float, float, float]]] = field(default_factory=dict)
    """N -> (wall, client CPU, server CPU) seconds of N runs at once, per round."""
    lost: dict[int, list[int]] = field(default_factory=dict)
    """N -> runs that failed (a connect timeout under load, say), per round."""
    memory: dict[int, tuple[int, int, int]] = field(default_factory=dict)
    """N -> (peak, retained) bytes of Python allocations of N runs at once (one traced round), and how
    many of its runs failed (tracing triples the CPU per call: a connect timeout under the load)."""


def rotations(names: list[str], rounds: int) -> Iterator[list[str]]:
    for r in range(rounds):
        k = r % len(names)
        yield names[k:] + names[:k]


async def sequential(server: Server, chosen: list[Shape], runs: int, figures: dict[tuple[str, str], Figures]) -> None:
    """`runs` rounds, each running every shape's contenders once (shapes and contenders in rotated order),
    after a warm-up; then 5 rounds under tracemalloc."""
    async with make_client(server.url) as client:
        tasks = {(s.name, n): (s, factory(client)) for s in chosen for n, factory in s.contenders.items()}
        for (_, name), (shape, run) in tasks.items():
            for _ in range(5):
                check(name, await run(), shape.answer)
        await same_requests(client, chosen, tasks)
        freeze()
        for r in range(runs):
            for shape in rotated(chosen, r):
                for name in rotated(list(shape.contenders), r):
                    run = tasks[shape.name, name][1]
                    wall, cpu = time.perf_counter(), time.process_time()
                    output = await run()
                    figures[shape.name, name].wall.append(time.perf_counter() - wall)
                    figures[shape.name, name].cpu.append(time.process_time() - cpu)
                    check(name, output, shape.answer)
        tracemalloc.start()
        try:
            for r in range(5):
                for shape in chosen:
                    for name in rotated(list(shape.contenders), r):
                        tracemalloc.reset_peak()
                        base = tracemalloc.get_traced_memory()[0]
                        check(name, await tasks[shape.name, name][1](), shape.answer)
                        figures[shape.name, name].peak.append(tracemalloc.get_traced_memory()[1] - base)
        finally:
            tracemalloc.stop()


async def same_requests(
    client: anthropic.AsyncAnthropic, chosen: list[Shape], tasks: dict[tuple[str, str], Any]
) -> None:
    """Fail unless agentkit sends the floor's requests in every shape (as many, with as many messages each):
    a framework that kept more history, or made one more call, would be measured on more work."""
    sent: list[int] = []

    async def count(request: Any) -> None:
        if request.url.path.endswith("/messages"):
            sent.append(len(json.loads(request.content)["messages"]))

    hooks = client._client.event_hooks  # the SDK's own httpx client, for the length of this check
    hooks["request"].append(count)
    try:
        for shape in (s for s in chosen if (s.name, FLOOR) in tasks and (s.name, "agentkit") in tasks):
            seen = {}
            for name in (FLOOR, "agentkit"):
                sent.clear()
                await tasks[shape.name, name][1]()
                seen[name] = list(sent)
            if seen[FLOOR] != seen["agentkit"]:
                raise AssertionError(
                    f"{shape.name}: the raw loop sent requests of {seen[FLOOR]} messages, agentkit of "
                    f"{seen['agentkit']}: the contenders must do the same work"
                )
    finally:
        hooks["request"].remove(count)


def rotated(items: list[T], r: int) -> list[T]:
    k = r % len(items)
    return items[k:] + items[:k]


async def concurrent(server: Server, names: list[str], n: int, rounds: int, figures: dict[str, Figures]) -> None:
    """`n` runs at once per contender, `rounds` times, each time on a fresh pooled client made outside the timing."""
    for order in rotations(names, rounds):
        for name in order:
            async with make_client(server.url) as client:
                task = CONTENDERS[name](client)
                freeze()
                served, wall, cpu = server.cpu(), time.perf_counter(), time.process_time()
                outputs = await asyncio.gather(*(task() for _ in range(n)), return_exceptions=True)
                wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
                figures[name].concurrent.setdefault(n, []).append((wall, cpu, server.cpu() - served))
            lost = [output for output in outputs if isinstance(output, BaseException)]
            if n not in figures[name].memory:
                figures[name].memory[n] = await traced(server, name, n)
            figures[name].lost.setdefault(n, []).append(len(lost))
            for output in outputs:
                if not isinstance(output, BaseException):
                    check(name, output)
            if lost:
                note = f"[{name}: {len(lost)} of {n:,} runs failed; the first: {lost[0]!r}]"
                print(note, file=sys.stderr, flush=True)


async def traced(server: Server, name: str, n: int) -> tuple[int, int, int]:
    """One more round of `n` runs at once under tracemalloc (slower, so not timed): the peak of Python
    allocations while they went, what they left allocated once done and collected, and how many failed
    (what a failed request leaves in the SDK's connection pool is counted as left)."""
    async with make_client(server.url) as client:
        task = CONTENDERS[name](client)
        await task()  # the client's pool and the contender's one-time setup are not the runs'
        freeze()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        outputs = await asyncio.gather(*(task() for _ in range(n)), return_exceptions=True)
        failed = sum(isinstance(output, BaseException) for output in outputs)
        del outputs
        gc.collect()
        after, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return peak - before, after - before, failed


def freeze() -> None:
    """Collect, then move what survives out of the collector's sight: with four frameworks imported a full
    collection takes ~0.1 s, which would land on whichever contender happens to trigger it.

    No collection is forced between runs: the collector runs when the runs' own allocations trigger it, as in an
    application. (Forcing one before each run triples the SDK tool runner's CPU: a full collection clears caches
    it rebuilds on every run.)"""
    gc.collect()
    gc.freeze()


def check(name: str, output: str, answer: str = FINAL) -> None:
    if output != answer:
        raise AssertionError(f"{name} answered {output[:200]!r}, not the scripted final answer")


# -- the report -------------------------------------------------------------------------------------


def quartiles(values: list[float]) -> tuple[float, float, float]:
    if len(values) < 2:
        return values[0], values[0], values[0]
    q1, q2, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return q1, q2, q3


def report(chosen: list[Shape], figures: dict[tuple[str, str], Figures]) -> str:
    lines = [
        "| shape | contender | time per run, median | x floor, median of per-round ratios (p25-p75) "
        "| CPU per model call | peak memory per run |",
        "|---|---|---|---|---|---|",
    ]
    for shape in chosen:
        floor = figures[shape.name, FLOOR]
        for name in shape.contenders:
            f = figures[shape.name, name]
            ratios = [w / b for w, b in zip(f.wall, floor.wall, strict=True)]
            r1, r2, r3 = quartiles(ratios)
            cpu = statistics.median(f.cpu) / shape.calls
            lines.append(
                f"| {shape.name} | {name} | {statistics.median(f.wall) * 1e3:.2f} ms | {r2:.3f}x ({r1:.2f}-{r3:.2f}) | "
                f"{cpu * 1e3:.2f} ms | {statistics.median(f.peak) / 1024:,.0f} KiB |"
            )
    return "\n".join(lines)


def report_concurrent(names: list[str], figures: dict[str, Figures], latency: float) -> str:
    floor = figures[FLOOR]
    lines: list[str] = []
    sizes = sorted(floor.concurrent)
    if not sizes:
        return "\n".join(lines)
    ideal = CALLS_PER_RUN * latency
    lines += [
        f"N runs at once, {latency * 1e3:.0f} ms server latency per model call: wall time (median of rounds), "
        f"its ratio to the ideal {ideal * 1e3:.0f} ms and to the floor, client CPU per model call; and in one "
        "more round under tracemalloc, the peak of Python allocations and what the N runs left allocated when done",
        "",
        "| contender | " + " | ".join(f"N = {n:,}" for n in sizes) + " |",
        "|---|" + "---|" * len(sizes),
    ]
    for name in names:
        cells = []
        for n in sizes:
            wall = statistics.median(w for w, _, _ in figures[name].concurrent[n])
            base = statistics.median(w for w, _, _ in floor.concurrent[n])
            cpu = statistics.median(c for _, c, _ in figures[name].concurrent[n]) / (n * CALLS_PER_RUN)
            lost = sum(figures[name].lost.get(n, ()))
            peak, retained, failed = figures[name].memory.get(n, (0, 0, 0))
            traced = f" ({failed:,} runs failed under tracing)" if failed else ""
            cells.append(
                f"{wall * 1e3:,.0f} ms ({wall / ideal:.2f}x ideal, {wall / base:.2f}x floor; {cpu * 1e3:.1f} ms; "
                f"peak {peak / 2**20:,.1f} MiB, left {retained / 2**10:,.0f} KiB{traced}"
                + (f"; {lost:,} runs failed)" if lost else ")")
            )
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    served = [s / (n * CALLS_PER_RUN) for f in figures.values() for n in sizes for _, _, s in f.concurrent[n]]
    lines += ["", f"The server process used {statistics.median(served) * 1e3:.2f} ms CPU per model call (median)."]
    return "\n".join(lines)


def profile(server: Server, shape: Shape, name: str, runs: int) -> None:
    """cProfile of `runs` sequential runs of one contender on one shape: where its CPU goes."""
    import cProfile
    import pstats

    async def main() -> None:
        async with make_client(server.url) as client:
            run = shape.contenders[name](client)
            for _ in range(5):
                check(name, await run(), shape.answer)
            freeze()
            profiler = cProfile.Profile()
            profiler.enable()
            for _ in range(runs):
                await run()
            profiler.disable()
        stats = pstats.Stats(profiler).strip_dirs()
        stats.sort_stats("tottime").print_stats(30)
        stats.sort_stats("cumulative").print_stats(40)

    asyncio.run(main())


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.agent_loop", description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, help="rounds of sequential runs, each contender of each shape once (300)")
    parser.add_argument("--shapes", help=f"comma-separated, from: {', '.join(s.name for s in shapes())} (all)")
    parser.add_argument("--concurrency", help="comma-separated N for the concurrent runs (100,1000); 0 for none")
    parser.add_argument("--concurrency-rounds", type=int, help="repeats of each concurrent measurement (3)")
    parser.add_argument("--latency", type=float, default=0.1, help="server latency per model call, concurrent part")
    parser.add_argument("--contenders", help=f"comma-separated, from: {', '.join(CONTENDERS)} (all)")
    parser.add_argument("--quick", action="store_true", help="small sizes: 30 runs, N = 100, 1 round")
    parser.add_argument("--profile", metavar="CONTENDER", help="print a cProfile of this contender's runs instead")
    parser.add_argument("--serve", type=float, metavar="LATENCY", help=argparse.SUPPRESS)  # the server subprocess
    args = parser.parse_args(argv)
    args.runs = args.runs or (30 if args.quick else 300)
    args.concurrency_rounds = args.concurrency_rounds or (1 if args.quick else 3)
    sizes = args.concurrency or ("100" if args.quick else "100,1000")
    args.sizes = [int(n) for n in sizes.split(",") if int(n) > 0]
    return args


def main(argv: list[str] | None = None) -> str:
    args = parse(argv)
    if args.serve is not None:
        serve(args.serve)
        return ""
    chosen, skipped = chosen_shapes(args.shapes, args.contenders)
    for note in skipped:
        print(note, flush=True)
    if args.profile:
        shape = chosen[0]
        if args.profile not in shape.contenders:
            raise SystemExit(f"no contender {args.profile!r} in shape {shape.name!r}: {', '.join(shape.contenders)}")
        with server_process(0.0) as server:
            profile(server, shape, args.profile, args.runs)
        return ""
    figures = {(s.name, name): Figures() for s in chosen for name in s.contenders}
    started = time.perf_counter()
    with server_process(0.0) as server:
        asyncio.run(sequential(server, chosen, args.runs, figures))
    progress(f"{args.runs} rounds of sequential runs", started)
    table = report(chosen, figures)
    print(f"## The agent loop: {args.runs} interleaved rounds of every shape\n\n{table}", flush=True)
    asked = [c.strip() for c in args.contenders.split(",") if c.strip() in CONTENDERS] if args.contenders else None
    names, _ = available(asked)  # N runs at once: the async task's contenders (bench/task.py)
    together = {name: Figures() for name in names}
    if args.sizes:
        with server_process(args.latency) as server:
            for n in args.sizes:
                started = time.perf_counter()
                asyncio.run(concurrent(server, names, n, args.concurrency_rounds, together))
                progress(f"{args.concurrency_rounds} rounds of {n:,} runs at once", started)
        concurrent_table = report_concurrent(names, together, args.latency)
        print(f"\n{concurrent_table}", flush=True)
        table += "\n\n" + concurrent_table
    return table


def progress(what: str, started: float) -> None:
    print(f"[{what}: {time.perf_counter() - started:.1f} s]", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
