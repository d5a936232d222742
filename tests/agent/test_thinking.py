"""Thinking blocks travel through the tool loop exactly as received."""

from __future__ import annotations

import pytest

from agentkit import Agent
from agentkit.testing import MessagesServer, Reply, redacted_thinking, text, thinking, tool_use

pytestmark = pytest.mark.anyio


def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


async def test_a_two_turn_tool_loop_with_thinking_is_accepted(messages_server: MessagesServer) -> None:
    first = [thinking("I need to add 2 and 3."), redacted_thinking(), tool_use("add", {"a": 2, "b": 3})]
    messages_server.script(
        Reply(content=first),
        Reply(content=[thinking("Now add 4."), tool_use("add", {"a": 5, "b": 4})]),
        Reply(content=[thinking("The sum is 9."), text("9")]),
    )
    agent = Agent(
        model="claude-sonnet-4-6",
        tools=[add],
        thinking={"type": "enabled", "budget_tokens": 1024},
        max_tokens=4096,
        client=messages_server.client(),
    )

    result = await agent.run("2+3+4?")

    assert result.output == "9"
    assert result.thinking == "I need to add 2 and 3.\n\nNow add 4.\n\nThe sum is 9."
    third = messages_server.requests[2]
    assert third.body["thinking"] == {"type": "enabled", "budget_tokens": 1024}
    assert third.messages[1]["content"] == first  # byte for byte, signature and redacted data included
    assert messages_server.rejected == []
