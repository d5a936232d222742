"""The API key never leaves the client: not in errors, reprs, logs or saved sessions."""

from __future__ import annotations

from pathlib import Path

import pytest
import structlog

from agentkit import Agent, APIError
from agentkit.sessions import SQLiteSessionStore
from agentkit.testing import Fault, MessagesServer, Reply, tool_use

pytestmark = pytest.mark.anyio
SECRET = "sk-ant-api03-SECRET-never-show-me-0123456789"


def stored_bytes(folder: Path) -> list[str]:
    """Everything the session store wrote, its write-ahead log included."""
    return [path.read_bytes().decode("utf-8", "replace") for path in folder.glob("s.sqlite3*")]


def explode() -> str:
    """Fail."""
    raise RuntimeError("tool failure")


async def test_the_key_is_nowhere_a_user_can_see(messages_server: MessagesServer, tmp_path: Path) -> None:
    db = tmp_path / "s.sqlite3"
    client = messages_server.client(api_key=SECRET, max_retries=0)
    agent = Agent(model="claude-sonnet-4-6", tools=[explode], session_store=SQLiteSessionStore(db), client=client)
    messages_server.script(
        Reply(content=[tool_use("explode", {})], stop_reason="max_tokens"), Reply(content=[tool_use("explode", {})])
    )
    messages_server.script(Reply.text("ok"), Fault.server_error())

    with structlog.testing.capture_logs() as logs:
        result = await agent.run("go", session="s")
        with pytest.raises(APIError) as caught:
            await agent.run("again", session="s")

    assert SECRET in messages_server.requests[0].headers["authorization"]  # it was sent, to the API only
    seen = [repr(agent), repr(result), str(result.messages), str(caught.value), repr(caught.value), str(logs)]
    seen += stored_bytes(tmp_path)
    assert all(SECRET not in text for text in seen)
    assert any(entry["event"] == "tool_call_cut_at_max_tokens" for entry in logs)
