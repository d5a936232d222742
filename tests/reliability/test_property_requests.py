"""Random runs, every request valid: tool calls (parallel, failing), cut answers, trims, thinking.

Hypothesis draws a script of model behaviour and agent settings; the offline server answers from
the script and rejects what the real API would reject. Whatever the draw, it must reject nothing.
"""

from __future__ import annotations

from typing import Any

import anyio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentkit import Agent, MaxTokensReached, MaxTurnsExceeded, MemoryBudgetExceeded
from agentkit.testing import MessagesServer, Reply, Request, text, thinking, tool_use

STEP = st.one_of(
    st.tuples(st.just("tools"), st.lists(st.integers(0, 9), min_size=1, max_size=3)),
    st.tuples(st.just("cut"), st.text("abc de", min_size=1, max_size=40)),
)
PROMPTS = st.lists(st.lists(STEP, max_size=5), min_size=1, max_size=4)


def work(n: int) -> str:
    """Do some work; odd numbers fail."""
    if n % 2:
        raise ValueError(f"{n} is odd")
    return "x" * 200 * (n + 1)


class Script:
    """Answers every request from the drawn steps, then ends each prompt's run with a final answer."""

    def __init__(self, runs: list[list[tuple[str, Any]]], with_thinking: bool) -> None:
        self.runs, self.thinking, self.run, self.step = runs, with_thinking, 0, 0

    def __call__(self, request: Request) -> Reply:
        steps = self.runs[self.run]
        head = [thinking(f"step {self.step}")] if self.thinking else []
        if self.step >= len(steps):
            self.run, self.step = self.run + 1, 0
            return Reply(content=[*head, text("final answer")])
        kind, value = steps[self.step]
        self.step += 1
        if kind == "tools":
            return Reply(content=[*head, *[tool_use("work", {"n": n}) for n in value]])
        return Reply(content=[*head, text(value + " ")], stop_reason="max_tokens")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    runs=PROMPTS,
    budget=st.sampled_from([None, 600, 1200, 3000]),
    keep_first=st.booleans(),
    with_thinking=st.booleans(),
    prefill=st.booleans(),
)
def test_every_request_of_a_random_run_is_valid(
    runs: list[list[tuple[str, Any]]], budget: int | None, keep_first: bool, with_thinking: bool, prefill: bool
) -> None:
    script = Script(runs, with_thinking)
    with MessagesServer(script, prefill=prefill) as server:
        agent = Agent(
            model="claude-sonnet-4-6",
            system="You do work.",
            tools=[work],
            max_tokens=2048,
            max_turns=12,
            max_continuations=5,
            thinking={"type": "enabled", "budget_tokens": 1024} if with_thinking else None,
            memory_budget=budget,
            keep_first=keep_first,
            client=server.client(),
        )

        async def conversation() -> None:
            history: list[Any] = []
            for index in range(len(runs)):
                try:
                    result = await agent.run(f"prompt {index}", history=history)
                    history = result.messages
                except (MaxTurnsExceeded, MaxTokensReached) as stopped:
                    history = stopped.messages  # a typed stop; its history must still be valid to go on
                except MemoryBudgetExceeded:
                    return  # raised before sending: the tool results outgrew the small budget

        anyio.run(conversation)

    prefill_refusals = [r for _, r in server.rejected if "prefill" in r]  # learned once, then avoided
    assert [r for _, r in server.rejected if "prefill" not in r] == []
    assert len(prefill_refusals) <= 1
