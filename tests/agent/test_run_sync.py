"""`run_sync` for scripts."""

from __future__ import annotations

import pytest

from agentkit import Agent
from agentkit.testing import MessagesServer, Reply


def test_run_sync_works_in_a_plain_script_and_twice(
    messages_server: MessagesServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_BASE_URL", messages_server.url)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
    messages_server.script(Reply.text("one"), Reply.text("two"))
    agent = Agent(model="claude-sonnet-4-6")

    assert agent.run_sync("first").output == "one"
    assert agent.run_sync("second").output == "two"  # a new event loop, and a client that works in it


@pytest.mark.anyio
async def test_run_sync_inside_an_event_loop_is_a_clear_error() -> None:
    agent = Agent(model="claude-sonnet-4-6")
    with pytest.raises(RuntimeError, match=r"inside a running event loop; use `await agent.run\(...\)`"):
        agent.run_sync("hi")
