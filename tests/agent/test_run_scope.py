"""The run owns its state: the client, the session store, the untraced client copy are chosen per
run, never by changing the agent; `override()` swaps settings for a block (tests)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from agentkit import Agent, SQLiteSessionStore
from agentkit.testing import MessagesServer, Reply

pytestmark = pytest.mark.anyio


def test_a_client_you_pass_stays_open_and_yours_after_run_sync(messages_server: MessagesServer) -> None:
    messages_server.script(Reply.text("one"), Reply.text("two"))
    client = messages_server.client()
    agent = Agent(model="claude-haiku-4-5", client=client)

    assert agent.run_sync("first").output == "one"
    assert not client.is_closed()
    assert agent.client is client
    assert agent.run_sync("second").output == "two"  # the same agent, the same client, still usable


def test_override_swaps_the_client_for_the_block_only(messages_server: MessagesServer) -> None:
    messages_server.script(Reply.text("offline"))
    agent = Agent(model="claude-haiku-4-5")
    with agent.override(client=messages_server.client(), model="claude-sonnet-4-6"):
        result = agent.run_sync("hi")

    assert result.output == "offline"
    assert messages_server.requests[0].body["model"] == "claude-sonnet-4-6"
    assert agent.client is None
    assert agent.model == "claude-haiku-4-5"


def test_a_session_run_does_not_set_a_store_on_the_agent(
    messages_server: MessagesServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENTKIT_SESSIONS", str(tmp_path / "sessions.sqlite3"))
    messages_server.script(Reply.text("saved"))
    agent = Agent(model="claude-haiku-4-5", client=messages_server.client())

    agent.run_sync("hi", session="s1")

    assert agent.session_store is None
    saved = SQLiteSessionStore(tmp_path / "sessions.sqlite3")
    import anyio

    assert [m["role"] for m in anyio.run(saved.load, "s1")] == ["user", "assistant"]


async def test_async_with_agent_keeps_one_client_for_its_runs(messages_server: MessagesServer) -> None:
    messages_server.script(Reply.text("a"), Reply.text("b"))
    agent = Agent(model="claude-haiku-4-5")
    with agent.override(client=messages_server.client()):
        async with agent:
            first = await agent.run("1")
            second = await agent.run("2")

    assert (first.output, second.output) == ("a", "b")


async def test_agent_map_runs_every_input_and_one_failure_stops_none(messages_server: MessagesServer) -> None:
    def model(request: Any) -> Reply:
        if request.last_user_text == "boom":
            return Reply(content=[{"type": "text", "text": "x"}], stop_reason="refusal")
        return Reply.text(request.last_user_text.upper())

    messages_server.respond_with(model)
    agent = Agent(model="claude-haiku-4-5", client=messages_server.client())

    outcomes = [o async for o in agent.map(["a", "boom", "c"], concurrency=2)]

    by_input = {o.index: o for o in outcomes}
    assert sorted(by_input) == [0, 1, 2]
    assert by_input[0].result is not None
    assert by_input[0].result.output == "A"
    assert by_input[2].result is not None
    assert by_input[2].result.output == "C"
    assert by_input[1].error is not None
