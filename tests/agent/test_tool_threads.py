"""Where a plain `def` tool runs: a worker thread by default, the event loop with `blocking=False`."""

from __future__ import annotations

import threading

import pytest

from agentkit import Agent, tool
from agentkit.testing import MessagesServer, Reply

pytestmark = pytest.mark.anyio


async def test_sync_tools_run_in_a_worker_thread_unless_declared_non_blocking(messages_server: MessagesServer) -> None:
    threads: dict[str, str] = {}

    @tool
    def slow(x: int) -> int:
        """Might block."""
        threads["slow"] = threading.current_thread().name
        return x

    @tool(blocking=False)
    def fast(x: int) -> int:
        """Never blocks."""
        threads["fast"] = threading.current_thread().name
        return x

    messages_server.script(Reply.tool_calls(("slow", {"x": 1}), ("fast", {"x": 2})), Reply.text("ok"))
    result = await Agent(model="claude-haiku-4-5", tools=[slow, fast], client=messages_server.client()).run("go")

    assert result.output == "ok"
    assert threads["fast"] == threading.current_thread().name  # the event loop's own thread
    assert threads["slow"] != threading.current_thread().name
