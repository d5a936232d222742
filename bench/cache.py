"""Prompt caching over a tool-using conversation, with and without trimming, through the offline server.

    .venv/bin/python -m bench.cache                    # the figures docs/memory.md quotes
    .venv/bin/python -m bench.cache --result-lines 8   # tool results a third as long
    .venv/bin/python -m bench.cache --sweep            # also: budgets and low watermarks with trimming
    .venv/bin/python -m bench.cache --turns 50

A conversation of `--turns` user turns; in each the model calls two tools in parallel, reads their
results and answers (two requests per turn), with a ~3,000-token system prompt. The loopback server
accounts caching like the service (prefix hashes at breakpoints, 20-block lookback, per-model
minimum, TTLs). Printed per scenario: the share of input tokens read from cache from the 3rd
request on, and the input cost relative to no caching (writes 1.25x, reads 0.1x), over all requests.

Stages 2-4 (trim, accounting, cache breakpoints) are driven by hand here (`ManualRun`) until the run
loop wires them; `ManualRun.turn` is the one place to replace with `Agent.run(prompt, history=...)`.
Also printed: the time to prepare one request (trim + accounting + breakpoints) at 100 and 1,000
turns of history, without a server.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agentkit._loop.cache import place_breakpoints
from agentkit._loop.tokens import TokenCounter
from agentkit._loop.trim import DEFAULT_LOW_WATERMARK
from agentkit.memory import DropOldest, Fit, MemoryStrategy
from agentkit.testing import MessagesServer, Reply, Request, text, tool_use
from agentkit.testing._tokens import _units

MODEL = "claude-sonnet-4-6"
SYSTEM = "\n".join(
    f"Policy {n}: orders in region {n % 7} ship within {n % 5 + 2} days; refunds over {n * 13} EUR need a "
    f"supervisor, and a customer with {n % 4 + 1} open tickets is escalated to tier {n % 3 + 1}."
    for n in range(72)
)  # about 3,000 tokens as the server counts them
TOOLS = [
    {
        "name": "lookup_order",
        "description": "Look up an order by id: status, items, shipping.",
        "input_schema": {"type": "object", "properties": {"order_id": {"type": "string"}}, "required": ["order_id"]},
    },
    {
        "name": "search_policies",
        "description": "Search the policy handbook.",
        "input_schema": {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]},
    },
]


def model_reply(request: Request) -> Reply:
    """Two parallel tool calls after a question, an answer after the tool results."""
    last = request.body["messages"][-1]
    n = len(request.body["messages"])
    if isinstance(last["content"], str):
        return Reply(
            [
                text("Let me look that up."),
                tool_use("lookup_order", {"order_id": f"A-{n:05d}"}),
                tool_use("search_policies", {"query": f"refund rules case {n}"}),
            ]
        )
    return Reply.text(f"Order A-{n:05d} shipped on day {n % 9}; per policy {n % 72} the refund needs approval. " * 6)


RESULT_LINES = 24


def tool_output(call: dict[str, Any]) -> str:
    key = str(call["input"])
    return f"{call['name']} result for {key}: " + "; ".join(f"line {i}: {key} status ok" for i in range(RESULT_LINES))


@dataclass
class Figures:
    usages: list[Any] = field(default_factory=list)
    shared: list[int] = field(default_factory=list)  # tokens each request shares with the one before
    count_calls: int = 0
    prepare_seconds: list[float] = field(default_factory=list)
    context: list[int] = field(default_factory=list)

    def read_share(self, first: int = 2) -> float:
        part = self.usages[first:]
        read = sum(u.cache_read_input_tokens or 0 for u in part)
        return read / max(1, sum(_prompt(u) for u in part))

    def ceiling(self, first: int = 2) -> float:
        """The best share any breakpoint placement could reach: only the prefix shared with the
        previous request can be read; what is new must be written or sent in full."""
        return sum(self.shared[first:]) / max(1, sum(_prompt(u) for u in self.usages[first:]))

    def relative_cost(self) -> float:
        cost = sum(
            u.input_tokens
            + 1.25 * u.cache_creation.ephemeral_5m_input_tokens
            + 2.0 * u.cache_creation.ephemeral_1h_input_tokens
            + 0.1 * (u.cache_read_input_tokens or 0)
            for u in self.usages
        )
        return cost / max(1, sum(_prompt(u) for u in self.usages))


def shared_prefix(before: dict[str, Any] | None, after: dict[str, Any]) -> int:
    """Tokens of the longest block prefix `after` shares with `before`, as the server counts them."""
    if before is None:
        return 0
    shared = 0
    for old, new in zip(_units(before), _units(after), strict=False):
        if old.key != new.key:
            break
        shared += new.tokens
    return shared


def _prompt(usage: Any) -> int:
    return int(usage.input_tokens + (usage.cache_read_input_tokens or 0) + (usage.cache_creation_input_tokens or 0))


class ManualRun:
    """Stages 2-4 by hand around `client.messages.create`: what the run loop will do per request."""

    def __init__(self, client: Any, *, budget: int | None, cache: str, memory: MemoryStrategy) -> None:
        self.client, self.budget, self.cache, self.memory = client, budget, cache, memory
        self.messages: list[Any] = []
        self.figures = Figures()
        self.previous: dict[str, Any] | None = None

    async def turn(self, prompt: str) -> None:
        """One user turn, like `Agent.run(prompt, history=self.messages)`: requests until the answer."""
        counter = TokenCounter(model=MODEL)  # per run
        turn_start = len(self.messages)
        self.messages.append({"role": "user", "content": prompt})
        while True:
            started = time.perf_counter()
            params, sent = await self.prepare(counter, turn_start)
            self.figures.prepare_seconds.append(time.perf_counter() - started)
            response = await self.client.messages.create(**sent)
            self.figures.shared.append(shared_prefix(self.previous, sent))
            self.previous = {**sent, "messages": list(sent["messages"])}  # the history list grows on
            reply = {"role": "assistant", "content": [b.to_dict() for b in response.content]}
            counter.observe(params, response.usage, reply)
            self.figures.usages.append(response.usage)
            self.figures.context.append(counter.context_tokens)
            self.messages.append(reply)
            calls = [b for b in reply["content"] if b["type"] == "tool_use"]
            if not calls:
                break
            results = [{"type": "tool_result", "tool_use_id": c["id"], "content": tool_output(c)} for c in calls]
            self.messages.append({"role": "user", "content": results})
        self.figures.count_calls += counter.count_tokens_calls

    async def prepare(self, counter: TokenCounter, turn_start: int) -> tuple[dict[str, Any], dict[str, Any]]:
        base: dict[str, Any] = {"model": MODEL, "max_tokens": 1024, "system": SYSTEM, "tools": TOOLS}
        messages = self.messages
        if self.budget is not None:
            fit = Fit(self.budget, counter.overhead(base), counter, turn_start=turn_start)
            plan = self.memory.plan(self.messages, fit)
            params = {**base, "messages": plan.messages}
            if counter.needs_exact(counter.estimate(params), self.budget):
                await counter.exact(self.client, params)  # recalibrates: plan again with exact figures
                plan = self.memory.plan(
                    self.messages, Fit(self.budget, counter.overhead(base), counter, turn_start=turn_start)
                )
            messages = plan.messages
        params = {**base, "messages": messages}
        return params, place_breakpoints(params, mode=self.cache, measure=counter)  # type: ignore[arg-type]


async def conversation(turns: int, *, budget: int | None, cache: str, low_watermark: float) -> Figures:
    with MessagesServer(model_reply) as server:
        run = ManualRun(server.client(), budget=budget, cache=cache, memory=DropOldest(low_watermark))
        for n in range(turns):
            await run.turn(f"Customer question {n}: where is my order and can I get a refund?")
        assert not server.rejected, server.rejected[0][1]
        return run.figures


def prepare_time(turns: int, repeats: int = 30) -> float:
    """Median seconds to prepare the next request of a `turns`-turn history (trim, accounting, breakpoints)."""
    messages: list[Any] = []
    for n in range(turns):
        messages.append({"role": "user", "content": f"Question {n} about order A-{n:05d}?"})
        calls = [tool_use("lookup_order", {"order_id": f"A-{n:05d}"}, id=f"toolu_{n}_a")]
        messages.append({"role": "assistant", "content": [text("Checking."), *calls]})
        messages.append(
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": f"toolu_{n}_a", "content": tool_output(calls[0])}],
            }
        )
        messages.append({"role": "assistant", "content": [text(f"Answer {n}: it shipped.")]})
    base: dict[str, Any] = {"model": MODEL, "max_tokens": 1024, "system": SYSTEM, "tools": TOOLS}
    counter = TokenCounter(model=MODEL)
    budget = int(0.5 * counter.estimate({**base, "messages": messages}))
    memory = DropOldest()
    times = []
    for r in range(repeats):
        messages.append({"role": "user", "content": f"Follow-up {r}?"})
        started = time.perf_counter()
        plan = memory.plan(messages, Fit(budget, counter.overhead(base), counter, turn_start=len(messages) - 1))
        params = {**base, "messages": plan.messages}
        counter.needs_exact(counter.estimate(params), budget)
        place_breakpoints(params, measure=counter)
        counter.observe(params, _FakeUsage(counter.estimate(params)), None)
        times.append(time.perf_counter() - started)
        messages.append({"role": "assistant", "content": [text(f"Answer {r}.")]})
    return statistics.median(times)


@dataclass
class _FakeUsage:
    input_tokens: int
    output_tokens: int = 10
    cache_read_input_tokens: int = 0
    cache_creation_input_tokens: int = 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--turns", type=int, default=30)
    parser.add_argument("--budget", type=int, default=12_000, help="memory_budget for the trimming scenario")
    parser.add_argument(
        "--result-lines", type=int, default=RESULT_LINES, help="size of each tool result (~12 tokens a line)"
    )
    parser.add_argument("--sweep", action="store_true", help="also compare budgets and low watermarks")
    args = parser.parse_args()
    globals()["RESULT_LINES"] = args.result_lines
    scenarios = [
        ('cache="off"', None, "off", DEFAULT_LOW_WATERMARK),
        ('cache="auto"', None, "auto", DEFAULT_LOW_WATERMARK),
        (f'cache="auto", memory_budget={args.budget}', args.budget, "auto", DEFAULT_LOW_WATERMARK),
    ]
    if args.sweep:
        scenarios += [
            (f"  memory_budget={b}, low_watermark={lw}", b, "auto", lw)
            for b in (args.budget, 16_000, 20_000)
            for lw in (0.5, 0.6, 0.7, 0.8)
        ]
    print(
        f"{args.turns} turns of 2 requests, 2 parallel tool calls a turn, tool results of {args.result_lines} lines, "
        f"~3,000-token system prompt, model {MODEL}"
    )
    columns = [("read share (3rd on)", 20), ("ceiling", 8), ("cost vs no cache", 17), ("mean prompt", 12)]
    columns += [("max prompt", 11), ("count_tokens", 13)]
    print(f"{'scenario':44} " + " ".join(f"{title:>{width}}" for title, width in columns))
    for name, budget, cache, lw in scenarios:
        f = asyncio.run(conversation(args.turns, budget=budget, cache=cache, low_watermark=lw))
        print(
            f"{name:44} {f.read_share():>20.3f} {f.ceiling():>8.3f} {f.relative_cost():>17.3f} "
            f"{statistics.mean(f.context):>12.0f} {max(f.context):>11} {f.count_calls:>13}"
        )
    for turns in (100, 1000):
        print(f"prepare one request at {turns:>5} turns of history: {prepare_time(turns) * 1000:.2f} ms (median)")


if __name__ == "__main__":
    main()
