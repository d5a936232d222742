"""Whole tool loops through batches: each turn of every run in one batch, tools run between them."""

from __future__ import annotations

import pytest
from batch_task import FAST, three_turns

from agentkit import Agent
from agentkit.batch import JobStore, run_batch
from agentkit.testing import MessagesServer

pytestmark = pytest.mark.anyio


async def test_a_three_turn_tool_loop_for_200_inputs_takes_exactly_three_batches(
    agent: Agent, messages_server: MessagesServer, store: JobStore
) -> None:
    messages_server.respond_with(three_turns)
    cities = [f"City{n}" for n in range(200)]

    result = await run_batch(agent, [f"About {c}" for c in cities], store=store, polling=FAST)

    assert len(messages_server.batches.submissions) == 3
    assert len(messages_server.requests) == 0  # nothing went live
    assert [item.output for item in result] == [f"{c}: {c} is in Examplestan; {1000 + len(c)}" for c in cities]
    assert [item.result.turns for item in result if item.result] == [3] * 200
    assert result.usage.requests == 600
    assert result.batches == messages_server.batches.submissions


async def test_agent_batch_is_the_runner_on_the_agent(
    agent: Agent, messages_server: MessagesServer, store: JobStore
) -> None:
    messages_server.respond_with(three_turns)

    result = await agent.batch(["About Oslo", "About Rome"], store=store, polling=FAST)

    assert [item.output for item in result] == [
        "Oslo: Oslo is in Examplestan; 1004",
        "Rome: Rome is in Examplestan; 1004",
    ]
    assert len(messages_server.batches.submissions) == 3
