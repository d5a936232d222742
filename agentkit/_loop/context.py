"""Stage 2: fit the prompt to `memory_budget`, the one place where trimming may await.

The cutting itself is pure (`trim.py`, through the agent's memory strategy). What awaits is rare: a
summary call for the `summarize` strategy, and `count_tokens` when the local estimate is too close
to the budget to decide.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..memory import Fit
from ..usage import Usage

if TYPE_CHECKING:
    import anthropic
    from anthropic.types import MessageParam

    from ..agent import Agent
    from .tokens import TokenCounter

_PLANS = 3  # a summary, an exact count, then the plan that is sent


async def fit_to_budget(
    client: anthropic.AsyncAnthropic,
    params: dict[str, Any],
    messages: list[MessageParam],
    *,
    agent: Agent,
    counter: TokenCounter,
    turn_start: int,
    usage: Usage,
) -> tuple[dict[str, Any], int]:
    """The params with their messages fitted to the budget, and how many messages were left out."""
    budget = agent.memory_budget
    if budget is None:
        return params, 0
    base = {key: value for key, value in params.items() if key != "messages"}
    fitted, dropped = params, 0
    for _ in range(_PLANS):
        fit = Fit(budget, counter.overhead(base), counter, agent.keep_first, agent.pinned, turn_start)
        plan = agent.memory_strategy.plan(messages, fit)
        if plan.job is not None:
            summary = await agent.memory_strategy.complete(client, plan.job)
            if summary is not None:
                usage.add(Usage.from_response(summary.usage))
            continue
        fitted, dropped = {**base, "messages": plan.messages}, plan.dropped_messages
        if not counter.needs_exact(counter.estimate(fitted), budget):
            break
        await counter.exact(client, fitted)
    return fitted, dropped
