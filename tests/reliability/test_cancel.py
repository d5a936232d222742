"""Cancelling a run stops it promptly and leaves a valid history: in-flight tools get error results."""

from __future__ import annotations

import asyncio
from pathlib import Path

import anyio
import pytest

from agentkit import Agent
from agentkit.sessions import SQLiteSessionStore
from agentkit.testing import MessagesServer, Reply, tool_use, validate, with_tools

pytestmark = pytest.mark.anyio


def valid(messages: list) -> bool:  # type: ignore[type-arg]
    resent = {"model": "m", "max_tokens": 5, "messages": [*messages, {"role": "user", "content": "go"}]}
    return validate(with_tools(resent)) is None


async def test_a_cancel_scope_stops_a_run_in_a_tool_and_answers_the_call(
    messages_server: MessagesServer, tmp_path: Path
) -> None:
    started = anyio.Event()
    finished: list[str] = []

    async def crawl(url: str) -> str:
        """Crawl a site."""
        started.set()
        await anyio.sleep(3600)
        finished.append(url)
        return "crawled"

    store = SQLiteSessionStore(tmp_path / "s.sqlite3")
    messages_server.script(Reply(content=[tool_use("crawl", {"url": "a"}), tool_use("crawl", {"url": "b"})]))
    agent = Agent(model="claude-sonnet-4-6", tools=[crawl], session_store=store, client=messages_server.client())

    with anyio.fail_after(5):
        async with anyio.create_task_group() as group:
            group.start_soon(lambda: agent.run("crawl a and b", session="job"))
            await started.wait()
            group.cancel_scope.cancel()

    saved = await store.load("job")
    assert [m["role"] for m in saved] == ["user", "assistant", "user"]
    assert [b["is_error"] for b in saved[-1]["content"]] == [True, True]
    assert "Cancelled" in saved[-1]["content"][0]["content"]
    assert valid(saved)
    assert finished == []
    assert len(messages_server.requests) == 1


async def test_task_cancel_during_a_stream_leaves_the_stream_history_valid(messages_server: MessagesServer) -> None:
    started = asyncio.Event()

    async def wait() -> str:
        """Wait."""
        started.set()
        await asyncio.sleep(3600)
        return "never"

    messages_server.script(Reply(content=[tool_use("wait", {})]))
    agent = Agent(model="claude-sonnet-4-6", tools=[wait], client=messages_server.client())
    streams: list = []  # type: ignore[type-arg]

    async def consume() -> None:
        async with agent.stream("wait") as run:
            streams.append(run)
            async for _ in run:
                pass

    before = asyncio.all_tasks()
    task = asyncio.create_task(consume())
    await asyncio.wait_for(started.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 5)

    [run] = streams
    assert run.messages[-1]["content"][0]["is_error"] is True
    assert valid(run.messages)
    assert asyncio.all_tasks() == before  # nothing left running
