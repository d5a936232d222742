"""Server-side memory (compaction, clearing tool results) through a whole run: the beta API answers."""

from __future__ import annotations

import pytest
from anthropic.types.beta import BetaMessage

from agentkit import Agent
from agentkit.memory import ClearToolResults, MemoryStrategy, ServerCompaction
from agentkit.testing import MessagesServer, Reply, text, tool_use

pytestmark = pytest.mark.anyio


def lookup(order: str) -> str:
    """Look an order up."""
    return f"order {order}: shipped"


@pytest.mark.parametrize("stream", [False, True], ids=["create", "stream"])
@pytest.mark.parametrize(
    ("memory", "budget"),
    [(ServerCompaction(), 60_000), (ClearToolResults(trigger=30_000, keep=2), None)],
    ids=["compaction", "clear-tool-results"],
)
async def test_a_run_with_server_memory_finishes_on_the_beta_api(
    messages_server: MessagesServer, memory: MemoryStrategy, budget: int | None, stream: bool
) -> None:
    messages_server.script(Reply([tool_use("lookup", {"order": "A1"})]), Reply([text("It has shipped.")]))
    agent = Agent(model="claude-sonnet-4-6", tools=[lookup], memory=memory, memory_budget=budget)
    with agent.override(client=messages_server.client()):
        if stream:
            async with agent.stream("Where is order A1?") as events:
                async for _ in events:
                    pass
            result = events.result
        else:
            result = await agent.run("Where is order A1?")
    assert result.output == "It has shipped."
    assert isinstance(result.response, BetaMessage)
    assert len(messages_server.requests) == 2  # no response taken for a broken one and retried
    assert all("context_management" in r.body for r in messages_server.requests)
    assert result.messages[-2]["content"][0]["content"] == "order A1: shipped"
    assert messages_server.rejected == []
