"""Durable approvals: the run waits in the database for a decision sent from anywhere."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio
import pytest
from click.testing import CliRunner

from agentkit import Agent, tool
from agentkit.cli import main
from agentkit.durable import DurableAgent, approve, pending_approvals
from agentkit.testing import MessagesServer, Reply, Request, tool_use

from .helpers import tool_results

pytestmark = pytest.mark.anyio

sent: list[str] = []


@tool(requires_approval=True)
def send_email(to: str) -> str:
    """Send the email.

    Args:
        to: The address.
    """
    sent.append(to)
    return f"sent to {to}"


def email_model(request: Request) -> Reply:
    results = tool_results(request)
    if not results:
        return Reply(content=[tool_use("send_email", {"to": "ada@example.com"}, id="toolu_mail")])
    block = results[0]
    return Reply.text(f"{'error' if block.get('is_error') else 'ok'}: {block['content']}")


def mail_agent(server: MessagesServer) -> Agent:
    return Agent(name="mail", model="claude-sonnet-4-6", tools=[send_email], client=server.client())


async def _decide_when_pending(run_id: str, decide: Callable[[str], None]) -> None:
    """As another thread would: wait until the run asks, then decide (DBOS's sync calls, off the loop)."""

    def in_thread() -> None:
        pending = pending_approvals(run_id, wait=30)
        assert [p["name"] for p in pending] == ["send_email"]
        decide(pending[0]["id"])

    await anyio.to_thread.run_sync(in_thread)


async def test_an_approved_call_runs(durable_db: Callable[..., Any]) -> None:
    sent.clear()
    with MessagesServer(email_model) as server:
        durable = DurableAgent(mail_agent(server))
        durable_db()
        run = await durable.start("Email Ada.", run_id="mail-yes")
        await _decide_when_pending("mail-yes", lambda call: approve("mail-yes", call, True))
        result = await run.result()

    assert sent == ["ada@example.com"]
    assert result.output == "ok: sent to ada@example.com"
    assert await anyio.to_thread.run_sync(lambda: pending_approvals("mail-yes")) == []


async def test_a_call_denied_from_the_cli_gets_the_reason_as_its_error(durable_db: Callable[..., Any]) -> None:
    sent.clear()

    def deny(call: str) -> None:
        outcome = CliRunner().invoke(main, ["approve", "mail-no", call, "--no", "--reason", "not on a Sunday"])
        assert outcome.exit_code == 0, outcome.output

    with MessagesServer(email_model) as server:
        durable = DurableAgent(mail_agent(server))
        durable_db()
        run = await durable.start("Email Ada.", run_id="mail-no")
        await _decide_when_pending("mail-no", deny)
        result = await run.result()

    assert sent == []
    assert result.output.startswith("error: ")
    assert "not on a Sunday" in result.output


async def test_no_decision_within_the_timeout_denies(durable_db: Callable[..., Any]) -> None:
    sent.clear()
    with MessagesServer(email_model) as server:
        durable = DurableAgent(mail_agent(server), approval_timeout=0.2)
        durable_db()
        result = await durable.run("Email Ada.")

    assert sent == []
    assert "no decision within the approval timeout of 0.2 s" in result.output


def test_the_cli_lists_what_a_run_waits_on_and_refuses_a_half_decision() -> None:
    runner = CliRunner()
    outcome = runner.invoke(main, ["approve", "some-run", "toolu_1"])
    assert outcome.exit_code == 2
    assert "give --yes or --no" in outcome.output
    outcome = runner.invoke(main, ["approve", "some-run", "toolu_1", "--yes", "--reason", "why"])
    assert outcome.exit_code == 2
    assert "--reason goes with --no" in outcome.output
