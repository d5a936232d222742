"""Stages 2-4 driven by hand around the real SDK, as the run loop will: trim, account, place breakpoints."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from agentkit._history import History
from agentkit._loop.cache import place_breakpoints
from agentkit._loop.tokens import TokenCounter
from agentkit.memory import DropOldest, Fit, MemoryStrategy
from agentkit.testing import Reply, Request, text, tool_use

MODEL = "claude-sonnet-4-6"
SYSTEM = "Shop policy: refunds need a receipt; orders ship in two days. " * 200
TOOLS = [{"name": "lookup", "description": "Look up an order.", "input_schema": {"type": "object"}}]


def scripted_model(request: Request) -> Reply:
    """Two parallel tool calls after a question, an answer after the results; summaries on request."""
    if request.body.get("model") == "claude-haiku-4-5":
        return Reply.text(f"Summary of {len(request.body['messages'][0]['content'])} characters of conversation.")
    messages = request.body["messages"]
    n = len(messages)
    if isinstance(messages[-1]["content"], str):
        return Reply([text("Checking."), tool_use("lookup", {"order": n}), tool_use("lookup", {"order": n + 1})])
    return Reply.text(f"Order {n} shipped; the refund is approved. " * 4)


@dataclass
class Conversation:
    """A conversation of runs; each `turn` is one run (a fresh `TokenCounter`), like `Agent.run`."""

    client: Any
    budget: int | None
    memory: MemoryStrategy = field(default_factory=DropOldest)
    cache: str = "auto"
    messages: History = field(default_factory=History)  # carries each run's last exact count, as Agent.run's does
    sent: list[dict[str, Any]] = field(default_factory=list)
    usages: list[Any] = field(default_factory=list)
    count_calls: int = 0
    extra_calls: list[Any] = field(default_factory=list)

    async def turn(self, prompt: str) -> None:
        counter = TokenCounter(model=MODEL)
        start = len(self.messages)
        self.messages.append({"role": "user", "content": prompt})
        while True:
            params = await self.prepare(counter, start)
            final = place_breakpoints(params, mode=self.cache, measure=counter)  # type: ignore[arg-type]
            self.sent.append(final)
            if self.memory.betas:
                response = await self.client.beta.messages.create(**final, betas=list(self.memory.betas))
            else:
                response = await self.client.messages.create(**final)
            reply = {"role": "assistant", "content": [b.to_dict() for b in response.content]}
            counter.observe(params, response.usage, reply)
            self.usages.append(response.usage)
            self.messages.append(reply)
            calls = [b for b in reply["content"] if b["type"] == "tool_use"]
            if not calls:
                break
            results = [
                {"type": "tool_result", "tool_use_id": c["id"], "content": f"order {c['input']} ok " * 30}
                for c in calls
            ]
            self.messages.append({"role": "user", "content": results})
        self.count_calls += counter.count_tokens_calls
        self.messages.anchor = counter.carried()  # as a run leaves result.messages

    async def prepare(self, counter: TokenCounter, start: int) -> dict[str, Any]:
        base: dict[str, Any] = {"model": MODEL, "max_tokens": 1024, "system": SYSTEM, "tools": TOOLS}
        base.update(self.memory.server_params(self.budget))
        if self.budget is None:
            return {**base, "messages": list(self.messages)}
        for _ in range(3):
            plan = self.memory.plan(self.messages, Fit(self.budget, counter.overhead(base), counter, turn_start=start))
            if plan.job is not None:
                self.extra_calls.append(await self.memory.complete(self.client, plan.job))
                continue
            params = {**base, "messages": plan.messages}
            if not counter.needs_exact(counter.estimate(params), self.budget):
                return params
            await counter.exact(self.client, params)  # recalibrated: plan once more with exact figures
        return params
