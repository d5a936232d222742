"""The time to prepare one request for histories of 10, 100 and 1,000 turns: build, trim, account, cache.

    .venv/bin/python -m bench.history
    .venv/bin/python -m bench.history --turns 10,100,1000,3000 --repeats 50

Each turn of the history is a question, a tool call, its result (~600 characters) and an answer, with
the ~3,000-token system prompt and the tools of `bench/cache.py`. One request's preparation is what the
run loop (`agentkit/_loop/loop.py`) does before it calls the model, through the same calls:

- state: `RunState.start` (once per run: the first request only);
- build: `_loop.prepare.build_params` (the agent's settings, its tools' schemas, the history);
- trim: `_loop.prepare`'s fit (the memory strategy's plan, `_loop.trim`);
- account: the run's `TokenCounter` (`_loop.tokens`): estimates while trimming, and `observe`
  recording the response's usage;
- cache: `_loop.cache.place_breakpoints`.

Two agents: one without a memory budget (nothing is trimmed) and one whose budget holds the system
prompt, the tools and half the history (so trimming leaves out half of it or more). Two moments: the
first request of a run on a history new to the process (loaded from a session store, say: every
message is sized once) and a later request of the run (two messages are new). Printed: medians of
CPU time (`process_time`: these stages are pure computation, and CPU time leaves out whatever else
the machine runs), and the growth from 100 to 1,000 turns (10x is linear).
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import gc
import statistics
import time
from typing import Any

from agentkit import Agent
from agentkit._loop._learned import LEARNED
from agentkit._loop.prepare import build_params
from agentkit._loop.prepare import prepare as prepare_request
from agentkit._loop.state import RunInput, RunState
from agentkit._loop.tokens import TokenCounter
from agentkit.run import Journal
from agentkit.testing import estimate_tokens, text, tool_use
from bench.cache import MODEL, SYSTEM, tool_output


def lookup_order(order_id: str) -> str:
    """Look up an order by id: status, items, shipping."""
    return order_id


def search_policies(query: str) -> str:
    """Search the policy handbook."""
    return query


def agent(memory_budget: int | None) -> Agent:
    tools = [lookup_order, search_policies]
    return Agent(model=MODEL, system=SYSTEM, tools=tools, max_tokens=1024, memory_budget=memory_budget)


def history(turns: int) -> list[Any]:
    messages: list[Any] = []
    for n in range(turns):
        call = tool_use("lookup_order", {"order_id": f"A-{n:05d}"}, id=f"toolu_{n:05d}")
        messages += [
            {"role": "user", "content": f"Question {n}: where is order A-{n:05d}?"},
            {"role": "assistant", "content": [text("Let me check."), call]},
            {"role": "user", "content": [tool_result(call["id"], tool_output(call))]},
            {"role": "assistant", "content": [text(f"Order A-{n:05d} shipped on day {n % 9}.")]},
        ]
    messages.append({"role": "user", "content": "One more question?"})
    return messages


def tool_result(tool_use_id: str, content: str) -> dict[str, Any]:
    return {"type": "tool_result", "tool_use_id": tool_use_id, "content": content}


class Reported:
    """A response's usage as the counter reads it."""

    def __init__(self, prompt: int) -> None:
        self.input_tokens, self.output_tokens = prompt, 12
        self.cache_read_input_tokens = self.cache_creation_input_tokens = 0


class Counting:
    """The client, for `fit_to_budget`: it calls `count_tokens` when an estimate is too close to the budget to
    decide. Here that is answered at once with the offline server's count (a real one is a request away), counted
    to be reported, and its own CPU time kept apart from the preparation's."""

    def __init__(self) -> None:
        self.messages, self.calls, self.seconds = self, 0, 0.0

    async def count_tokens(
        self, *, messages: Any, model: str, system: Any = None, tools: Any = None, **rest: Any
    ) -> Reported:
        started = time.process_time()
        self.calls += 1
        tokens = estimate_tokens({"messages": messages, "system": system, "tools": tools, **rest})
        self.seconds += time.process_time() - started
        return Reported(tokens)


CLIENT = Counting()


def run_state(agent: Agent, messages: list[Any], counter: TokenCounter) -> RunState:
    """A run's state on `messages`, as run setup makes it once per run (the history's prompts found)."""
    run = RunInput(
        agent=agent,
        settings=agent.settings,
        client=CLIENT,  # type: ignore[arg-type]
        messages=messages,
        variables={},
        deps=None,
        output=None,
        journal=Journal(),
    )
    return RunState.start(run, SYSTEM, agent.toolset, counter)


async def prepare(agent: Agent, state: RunState | None, messages: list[Any], counter: TokenCounter) -> float:
    """One request's preparation, as the run loop does it (see the module docstring): its CPU seconds.

    With no `state` (a run's first request) the run's state is made first, and timed; a later request
    of the run goes on from the run's `state`, as the loop does. The response is taken to report the
    prompt the counter estimates (that estimate is not timed)."""
    started, counting = time.process_time(), CLIENT.seconds
    state = state or run_state(agent, messages, counter)
    params = (await prepare_request(state, CLIENT, agent.memory_strategy)).params  # type: ignore[arg-type]
    elapsed = time.process_time() - started - (CLIENT.seconds - counting)
    reported = Reported(counter.estimate(params))
    started = time.process_time()
    counter.observe(params, reported, None)
    return elapsed + time.process_time() - started


async def measure(turns: int, budgeted: bool, repeats: int) -> tuple[float, float]:
    """(first request of a run, a later request) in CPU seconds, median of `repeats`."""
    messages = history(turns)
    plain = agent(None)
    params = build_params(plain.settings, SYSTEM, messages, plain.toolset, None, plain.memory_strategy)
    size = TokenCounter(model=MODEL).estimate(params)
    overhead = TokenCounter(model=MODEL).estimate({**params, "messages": []})
    subject = agent(overhead + (size - overhead) // 2 if budgeted else None)
    first = []
    for _ in range(repeats):
        fresh = copy.deepcopy(messages)  # new objects: nothing about them is memoised yet
        gc.collect()  # the copy's garbage is not the preparation's
        gc.freeze()  # and the history is old data, as in a long-lived process: no collection walks it
        first.append(await prepare(subject, None, fresh, TokenCounter(model=MODEL)))
    LEARNED.reset()  # forget the copies above: evicting one frees a whole history, which is not preparation
    gc.unfreeze()
    gc.collect()
    gc.freeze()
    counter = TokenCounter(model=MODEL)
    state = run_state(subject, messages, counter)
    await prepare(subject, state, messages, counter)
    later = []
    for n in range(repeats):
        call = tool_use("lookup_order", {"order_id": f"B-{n}"}, id=f"toolu_b{n}")
        messages.append({"role": "assistant", "content": [call]})
        messages.append({"role": "user", "content": [tool_result(call["id"], "ok")]})
        later.append(await prepare(subject, state, messages, counter))
    return statistics.median(first), statistics.median(later)


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(prog="python -m bench.history", description=__doc__.split("\n")[0])
    parser.add_argument("--turns", default="10,100,1000", help="comma-separated history lengths, in turns")
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--quick", action="store_true", help="5 repeats")
    args = parser.parse_args(argv)
    repeats = 5 if args.quick else args.repeats
    sizes = [int(n) for n in args.turns.split(",")]
    lines = [
        "| turns | messages | no budget: first request | later request | budget half the history: first request "
        "| later request |",
        "|---|---|---|---|---|---|",
    ]
    rows: dict[int, list[float]] = {}
    requests = 0
    for turns in sizes:
        requests += 4 * (repeats + 1)
        rows[turns] = [*asyncio.run(measure(turns, False, repeats)), *asyncio.run(measure(turns, True, repeats))]
        cells = " | ".join(f"{t * 1e3:.3f} ms" for t in rows[turns])
        lines.append(f"| {turns:,} | {4 * turns + 1:,} | {cells} |")
    if 100 in rows and 1000 in rows:
        growth = " | ".join(f"{b / a:.1f}x" for a, b in zip(rows[100], rows[1000], strict=True))
        lines.append(f"| 100 -> 1,000 | | {growth} |")
    lines.append(
        f"\n`count_tokens` was needed for {CLIENT.calls} of {requests} requests (answered locally, not timed)."
    )
    table = "\n".join(lines)
    print(f"## Preparing a request ({repeats} repeats, median)\n\n{table}", flush=True)
    return table


if __name__ == "__main__":
    main()
