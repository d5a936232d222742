"""Where agentkit's own time goes in a run: wall time spent inside each stage of the loop, per run.

    .venv/bin/python -m bench.account                          # the async task, 1,000 runs
    .venv/bin/python -m bench.account --shape "50-turn history" --runs 300

Each stage function (`_loop.prepare.prepare`, `_loop.model._parsed`, `_loop.tools.run_tools`...) is
wrapped with a timer for the duration of the command; the runs then go as `bench.agent_loop` runs
them (the same server, shapes and contenders). Unlike cProfile, nothing else is slowed down, so the
figures are microseconds of a real run (the timers add about a microsecond a call). A stage's time
includes what it calls: `prepare` includes `place_breakpoints` and the first estimate, `run_tools`
the tools themselves, `_parsed` validating the response body.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import inspect
import time
from collections import Counter
from typing import Any

from bench.agent_loop import freeze, make_client, server_process
from bench.shapes import chosen

STAGES = {
    "agentkit._checks": ["check_history", "check_prompt"],
    "agentkit._loop.prepare": ["prepare", "_fit"],
    "agentkit._loop.cache": ["place_breakpoints"],
    "agentkit._loop.model": ["_parsed", "assistant_message"],
    "agentkit._loop.outcome": ["judge"],
    "agentkit._loop.tools": ["decide", "run_tools"],
    "agentkit._pacing.pacer": ["parse_headers"],
}
METHODS = {"agentkit._loop.tokens": {"TokenCounter": ["estimate", "observe"]}, "agentkit.tools": {"Tool": ["run"]}}


def _timed(spent: Counter[str], name: str, function: Any) -> Any:
    if inspect.iscoroutinefunction(function):

        @functools.wraps(function)
        async def waited(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return await function(*args, **kwargs)
            finally:
                spent[name] += time.perf_counter() - started

        return waited

    @functools.wraps(function)
    def called(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            spent[name] += time.perf_counter() - started

    return called


def instrument(spent: Counter[str]) -> None:
    """Wrap every stage, and rebind the names other modules imported it under."""
    import importlib
    import sys

    for module_name, names in STAGES.items():
        module = importlib.import_module(module_name)
        for name in names:
            original = getattr(module, name, None)
            if original is None:
                continue
            wrapped = _timed(spent, name, original)
            for other in list(sys.modules.values()):
                if getattr(other, "__name__", "").startswith("agentkit") and getattr(other, name, None) is original:
                    setattr(other, name, wrapped)
    for module_name, classes in METHODS.items():
        module = importlib.import_module(module_name)
        for class_name, methods in classes.items():
            cls = getattr(module, class_name)
            for method in methods:
                setattr(cls, method, _timed(spent, f"{class_name}.{method}", getattr(cls, method)))


async def account(url: str, shape_name: str, runs: int) -> str:
    shape = chosen(shape_name, "raw SDK loop,agentkit")[0][0]
    spent: Counter[str] = Counter()
    async with make_client(url) as client:
        run = shape.contenders["agentkit"](client)
        for _ in range(20):
            await run()
        instrument(spent)
        freeze()
        spent.clear()
        started = time.perf_counter()
        for _ in range(runs):
            await run()
        wall = time.perf_counter() - started
    lines = [
        f"## agentkit's stages, {shape_name}: {runs:,} runs, {wall / runs * 1e3:.2f} ms a run",
        "",
        "| stage | µs per run |",
        "|---|---|",
    ]
    lines += [f"| `{name}` | {seconds / runs * 1e6:,.0f} |" for name, seconds in spent.most_common()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(prog="python -m bench.account", description=__doc__.split("\n")[0])
    parser.add_argument("--shape", default="async tools", help="one of bench.shapes' shapes (async tools)")
    parser.add_argument("--runs", type=int, default=1000, help="runs timed, after 20 to warm up (1000)")
    args = parser.parse_args(argv)
    with server_process(0.0) as server:
        table = asyncio.run(account(server.url, args.shape, args.runs))
    print(table, flush=True)
    return table


if __name__ == "__main__":
    main()
