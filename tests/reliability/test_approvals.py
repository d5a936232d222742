"""Human approval of tool calls in plain runs: the run pauses with the calls pending, the session
keeps them, and `resume(approvals=...)` runs the approved ones and denies the rest with the reason."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from agentkit import Agent, RunHooks, SQLiteSessionStore, ToolCallReady, tool
from agentkit.testing import MessagesServer, Reply

pytestmark = pytest.mark.anyio

SENT: list[str] = []


@tool(requires_approval=True)
def send_email(to: str) -> str:
    """Send an email."""
    SENT.append(to)
    return f"sent to {to}"


@tool(requires_approval=lambda args: args["amount"] > 100)
def pay(amount: int) -> str:
    """Pay an amount."""
    return f"paid {amount}"


@pytest.fixture(autouse=True)
def _clear() -> None:
    SENT.clear()


def agent_for(server: MessagesServer, tmp_path: Path, **settings: object) -> Agent:
    store = SQLiteSessionStore(tmp_path / "s.sqlite3")
    return Agent(
        model="claude-haiku-4-5", tools=[send_email, pay], session_store=store, client=server.client(), **settings
    )  # type: ignore[arg-type]


async def test_a_call_needing_approval_pauses_the_run_and_resume_runs_it(
    messages_server: MessagesServer, tmp_path: Path
) -> None:
    messages_server.script(Reply.tool_calls(("send_email", {"to": "ann"}), ("pay", {"amount": 5})), Reply.text("Done."))
    agent = agent_for(messages_server, tmp_path)

    paused = await agent.run("Email Ann and pay 5.", session="s")

    assert paused.stop_reason == "approval_required"
    assert paused.output is None
    assert [c.name for c in paused.pending_approvals] == ["send_email"]
    assert SENT == []
    assert len(messages_server.requests) == 1
    call_id = paused.pending_approvals[0].id

    done = await agent.resume(session="s", approvals={call_id: True})

    assert done.output == "Done."
    assert SENT == ["ann"]
    results = {b["tool_use_id"]: b for b in messages_server.requests[1].messages[-1]["content"]}
    assert results[call_id]["content"] == "sent to ann"
    assert len(results) == 2  # the small payment ran before the pause, once


async def test_a_denied_call_gets_the_reason_as_an_error_result(
    messages_server: MessagesServer, tmp_path: Path
) -> None:
    messages_server.script(Reply.tool_calls(("pay", {"amount": 500})), Reply.text("Understood."))
    agent = agent_for(messages_server, tmp_path)
    paused = await agent.run("Pay 500.", session="s")
    call_id = paused.pending_approvals[0].id

    done = await agent.resume(session="s", approvals={call_id: "over the daily limit"})

    assert done.output == "Understood."
    [result] = messages_server.requests[1].messages[-1]["content"]
    assert result["is_error"] is True
    assert "over the daily limit" in result["content"]


async def test_an_approve_hook_decides_inline(messages_server: MessagesServer, tmp_path: Path) -> None:
    messages_server.script(Reply.tool_calls(("send_email", {"to": "bob"})), Reply.text("Sent."))
    asked: list[str] = []

    async def approve(calls: Sequence[ToolCallReady]) -> Mapping[str, bool | str]:
        asked.extend(c.name for c in calls)
        return {c.id: True for c in calls}

    result = await agent_for(messages_server, tmp_path).run("Email Bob.", hooks=RunHooks(approve=approve))

    assert (result.output, asked, SENT) == ("Sent.", ["send_email"], ["bob"])


async def test_an_agent_policy_covers_every_tool(messages_server: MessagesServer, tmp_path: Path) -> None:
    messages_server.script(Reply.tool_calls(("pay", {"amount": 1})))
    agent = agent_for(messages_server, tmp_path, approval=lambda call: call.name == "pay")

    paused = await agent.run("Pay 1.", session="s")

    assert [c.input for c in paused.pending_approvals] == [{"amount": 1}]
