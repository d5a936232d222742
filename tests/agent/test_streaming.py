"""Streaming: typed events through tool loops and continuation; the result equals run()'s."""

from __future__ import annotations

import anyio
import pytest
from pydantic import BaseModel

from agentkit import (
    Agent,
    RunFinished,
    TextDelta,
    ThinkingDelta,
    ToolCallFinished,
    ToolCallReady,
    ToolCallStarted,
    TurnFinished,
)
from agentkit.testing import MessagesServer, Reply, text, thinking, tool_use

pytestmark = pytest.mark.anyio


def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


def script() -> list[Reply]:
    return [
        Reply(content=[thinking("Add them."), text("Adding."), tool_use("add", {"a": 2, "b": 3}, id="toolu_1")]),
        Reply(content=[thinking("Done."), text("The sum is 5, as computed.")]),
    ]


def make_agent(server: MessagesServer) -> Agent:
    return Agent(
        model="claude-sonnet-4-6",
        tools=[add],
        thinking={"type": "enabled", "budget_tokens": 1024},
        max_tokens=2048,
        client=server.client(),
    )


async def test_a_stream_yields_typed_events_and_rebuilds_the_result_of_run() -> None:
    with MessagesServer(script()) as server:
        expected = await make_agent(server).run("2+3?")
    with MessagesServer(script()) as server:
        async with make_agent(server).stream("2+3?") as run:
            events = [event async for event in run]
        assert all(request.stream for request in server.requests)

    kinds = [type(e).__name__ for e in events]
    assert kinds[:2] == ["ModelCallStarted", "ThinkingDelta"]  # each model call is announced
    assert kinds.count("ModelCallStarted") == 2
    assert kinds.index("ToolCallStarted") < kinds.index("ToolCallReady") < kinds.index("ToolCallFinished")
    assert kinds[-1] == "RunFinished"
    assert [e for e in events if isinstance(e, ToolCallStarted)] == [ToolCallStarted("toolu_1", "add")]
    assert [e for e in events if isinstance(e, ToolCallReady)] == [ToolCallReady("toolu_1", "add", {"a": 2, "b": 3})]
    assert [e for e in events if isinstance(e, ToolCallFinished)] == [ToolCallFinished("toolu_1", "add", "5", False)]
    assert [e.turn for e in events if isinstance(e, TurnFinished)] == [1, 2]
    assert "".join(e.thinking for e in events if isinstance(e, ThinkingDelta)) == "Add them.Done."
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "Adding.The sum is 5, as computed."
    final = events[-1]
    assert isinstance(final, RunFinished)
    assert run.result is final.result
    got = final.result
    assert (got.output, got.messages, got.usage, got.turns, got.thinking) == (
        expected.output,
        expected.messages,
        expected.usage,
        expected.turns,
        expected.thinking,
    )


async def test_streamed_text_across_a_continuation_equals_the_stitched_output(messages_server: MessagesServer) -> None:
    messages_server.script(
        Reply(content=[text("Alpha beta ")], stop_reason="max_tokens"),
        Reply(content=[text(" gamma.")]),
    )
    agent = Agent(model="claude-sonnet-4-6", client=messages_server.client())

    async with agent.stream("Recite.") as run:
        streamed = "".join([e.text async for e in run if isinstance(e, TextDelta)])

    assert run.result is not None
    assert streamed == run.result.output == "Alpha beta gamma."


async def test_typed_output_streams_too(messages_server: MessagesServer) -> None:
    class City(BaseModel):
        name: str

    messages_server.script(Reply(content=[tool_use("final_result", {"name": "Oslo"})]))
    agent = Agent(model="claude-sonnet-4-6", output_type=City, client=messages_server.client())

    async with agent.stream("Capital of Norway?") as run:
        result = await run.get_result()

    assert result.output == City(name="Oslo")


async def test_leaving_the_stream_early_cancels_the_run_cleanly(messages_server: MessagesServer) -> None:
    ran: list[int] = []

    def slow_add(a: int, b: int) -> int:
        """Add."""
        ran.append(a)
        return a + b

    messages_server.script(*script())
    agent = Agent(model="claude-sonnet-4-6", tools=[slow_add], client=messages_server.client())

    with anyio.fail_after(5):
        async with agent.stream("2+3?") as run:
            async for event in run:
                if isinstance(event, TextDelta):
                    break

    assert run.result is None
    assert len(messages_server.requests) == 1  # nothing sent after the consumer left
    assert ran == []


def test_stream_sync_iterates_events_in_a_plain_script(messages_server: MessagesServer) -> None:
    messages_server.script(*script())
    agent = Agent(
        model="claude-sonnet-4-6",
        tools=[add],
        thinking={"type": "enabled", "budget_tokens": 1024},
        max_tokens=2048,
        client=messages_server.client(),
    )

    with agent.stream_sync("2+3?") as events:
        collected = list(events)

    final = collected[-1]
    assert isinstance(final, RunFinished)
    assert final.result.output == "The sum is 5, as computed."
