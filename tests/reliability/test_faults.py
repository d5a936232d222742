"""The API's faults, through the offline server: runs recover or fail typed, and lose nothing."""

from __future__ import annotations

import pytest

from agentkit import Agent, APIError, Retrying, TextDelta
from agentkit.testing import Fault, MessagesServer, Reply, text, tool_use, validate, with_tools

pytestmark = pytest.mark.anyio


def tool_agent(server: MessagesServer, calls: list[str], **client_options: object) -> Agent:
    def record(note: str) -> str:
        """Record a note."""
        calls.append(note)
        return "noted"

    return Agent(model="claude-sonnet-4-6", tools=[record], client=server.client(**client_options))


def tool_turn() -> Reply:
    return Reply(content=[text("Noting."), tool_use("record", {"note": "n1"}, id="toolu_1")])


@pytest.mark.parametrize(
    "fault", [Fault.rate_limit(retry_after=0), Fault.overloaded(), Fault.server_error(), Fault.reset()], ids=str
)
async def test_a_fault_the_sdk_retries_does_not_repeat_a_tool(messages_server: MessagesServer, fault: Fault) -> None:
    calls: list[str] = []
    messages_server.script(tool_turn(), fault, Reply.text("Done."))
    agent = tool_agent(messages_server, calls)

    result = await agent.run("note n1")

    assert result.output == "Done."
    assert calls == ["n1"]
    assert len(messages_server.requests) == 3
    assert messages_server.requests[1].body == messages_server.requests[2].body  # the retry resent the same turn
    assert result.usage.requests == 2


async def test_after_the_retry_budget_the_run_fails_typed_with_the_history_intact(
    messages_server: MessagesServer,
) -> None:
    calls: list[str] = []
    messages_server.script(tool_turn(), *[Fault.overloaded()] * 3)
    agent = tool_agent(messages_server, calls)

    with pytest.raises(APIError) as caught:
        await agent.run("note n1")

    error = caught.value
    assert (error.status_code, error.error_type) == (529, "overloaded_error")
    assert calls == ["n1"]
    assert [m["role"] for m in error.messages] == ["user", "assistant", "user"]
    body = {"model": "claude-sonnet-4-6", "max_tokens": 10, "messages": error.messages}
    assert validate(with_tools(body)) is None  # resumable as it is
    assert error.usage is not None
    assert error.usage.requests == 1


async def test_a_stream_cut_mid_message_is_retried_whole_and_nothing_is_duplicated(
    messages_server: MessagesServer,
) -> None:
    calls: list[str] = []
    messages_server.script(Fault.cut_stream(after_events=4), tool_turn(), Reply.text("Done."))
    agent = tool_agent(messages_server, calls)

    async with agent.stream("note n1") as run:
        events = [event async for event in run]

    assert run.result is not None
    assert calls == ["n1"]
    assert sum(isinstance(e, Retrying) for e in events) == 1
    after_retry = events[next(i for i, e in enumerate(events) if isinstance(e, Retrying)) :]
    assert "".join(e.text for e in after_retry if isinstance(e, TextDelta)) == "Noting.Done."
    assert run.result.messages[1]["content"][0] == {"type": "text", "text": "Noting."}  # once, not twice
    assert run.result.usage.requests == 2


async def test_an_error_event_inside_a_stream_is_retried(messages_server: MessagesServer) -> None:
    messages_server.script(Fault.stream_error("overloaded_error"), Reply.text("ok"))
    agent = Agent(model="claude-sonnet-4-6", client=messages_server.client())

    async with agent.stream("hi") as run:
        result = await run.get_result()

    assert result.output == "ok"
    assert len(messages_server.requests) == 2


async def test_a_read_timeout_is_retried_by_the_sdk_then_surfaces_typed(messages_server: MessagesServer) -> None:
    messages_server.script(Fault.hang(0.3), Reply.text("late but fine"))
    agent = Agent(model="claude-sonnet-4-6", client=messages_server.client(timeout=0.1, max_retries=1))

    result = await agent.run("hi")
    assert result.output == "late but fine"

    messages_server.script(Fault.hang(0.3), Fault.hang(0.3))
    with pytest.raises(APIError, match="APITimeoutError") as caught:
        await agent.run("hi")
    assert caught.value.messages == [{"role": "user", "content": "hi"}]


@pytest.mark.parametrize("fault", [Fault.end_stream(), Fault.close_stream()], ids=["with a length", "FIN"])
async def test_a_json_body_cut_short_but_ended_cleanly_is_retried_then_fails_typed(
    messages_server: MessagesServer, fault: Fault
) -> None:
    # HTTP calls the body whole (its content-length matched, or a FIN ended a close-delimited body),
    # but its JSON stops half-way: the SDK raises a raw json.JSONDecodeError for it.
    calls: list[str] = []
    messages_server.script(fault, tool_turn(), Reply.text("Done."))
    agent = tool_agent(messages_server, calls, max_retries=1)

    result = await agent.run("note n1")

    assert result.output == "Done."
    assert calls == ["n1"]
    assert len(messages_server.requests) == 3  # the cut body, then its reply whole, then the answer

    messages_server.script(tool_turn(), fault, fault)
    with pytest.raises(APIError) as caught:
        await agent.run("note n1")
    assert caught.value.error_type == "APIConnectionError"
    assert calls == ["n1", "n1"]  # once per run
    body = {"model": "claude-sonnet-4-6", "max_tokens": 10, "messages": caught.value.messages}
    assert validate(with_tools(body)) is None
