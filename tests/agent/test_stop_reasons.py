"""Every stop reason has a defined outcome, and every error carries a history valid to send again."""

from __future__ import annotations

import pytest

from agentkit import (
    Agent,
    APIError,
    ContextWindowExceeded,
    MaxTurnsExceeded,
    Refused,
    RunError,
)
from agentkit.testing import Fault, MessagesServer, Reply, text, tool_use, validate, with_tools

pytestmark = pytest.mark.anyio


def assert_resumable(error: RunError) -> None:
    """The carried history plus a new user turn is a request the API accepts."""
    body = {
        "model": "claude-sonnet-4-6",
        "max_tokens": 100,
        "messages": [*error.messages, {"role": "user", "content": "go on"}],
    }
    assert validate(with_tools(body)) is None


def ping() -> str:
    """Ping."""
    return "pong"


async def test_stop_sequence_finishes_the_run(messages_server: MessagesServer) -> None:
    messages_server.script(Reply(content=[text("a, b, c")], stop_reason="stop_sequence", stop_sequence="d"))
    agent = Agent(model="claude-sonnet-4-6", client=messages_server.client())

    result = await agent.run("letters")

    assert (result.output, result.stop_reason) == ("a, b, c", "stop_sequence")


async def test_pause_turn_sends_the_conversation_back_so_the_server_continues(
    messages_server: MessagesServer,
) -> None:
    messages_server.script(Reply(content=[text("Searching")], stop_reason="pause_turn"), Reply.text("Found it."))
    agent = Agent(model="claude-haiku-4-5", client=messages_server.client())  # a model that takes the resent turn

    result = await agent.run("search")

    assert result.output == "Found it."
    assert result.turns == 2
    resent = messages_server.requests[1].messages
    assert resent == [
        {"role": "user", "content": "search"},
        {"role": "assistant", "content": [{"type": "text", "text": "Searching"}]},
    ]


async def test_refusal_raises_refused_with_stop_details(messages_server: MessagesServer) -> None:
    details = {"type": "refusal", "category": "cyber", "explanation": "no"}
    messages_server.script(Reply(content=[text("I can")], stop_reason="refusal", stop_details=details))
    agent = Agent(model="claude-sonnet-4-6", client=messages_server.client())

    with pytest.raises(Refused) as caught:
        await agent.run("do a bad thing")

    assert caught.value.stop_details is not None
    assert caught.value.stop_details.category == "cyber"
    assert caught.value.messages == [{"role": "user", "content": "do a bad thing"}]
    assert_resumable(caught.value)


async def test_context_window_exceeded_is_a_typed_error(messages_server: MessagesServer) -> None:
    messages_server.script(Reply(content=[text("partial")], stop_reason="model_context_window_exceeded"))
    agent = Agent(model="claude-sonnet-4-6", client=messages_server.client())

    with pytest.raises(ContextWindowExceeded) as caught:
        await agent.run("huge")

    assert_resumable(caught.value)


async def test_max_turns_raises_with_a_history_whose_tool_calls_are_all_answered(
    messages_server: MessagesServer,
) -> None:
    messages_server.script(*[Reply(content=[tool_use("ping", {})]) for _ in range(3)])
    agent = Agent(model="claude-sonnet-4-6", tools=[ping], max_turns=3, client=messages_server.client())

    with pytest.raises(MaxTurnsExceeded, match="max_turns=3") as caught:
        await agent.run("loop forever")

    error = caught.value
    assert len(messages_server.requests) == 3
    assert error.usage is not None
    assert error.usage.requests == 3
    assert [m["role"] for m in error.messages] == ["user", *["assistant", "user"] * 3]
    assert_resumable(error)


async def test_a_bad_request_surfaces_with_the_request_id_and_the_history(
    messages_server: MessagesServer,
) -> None:
    agent = Agent(model="claude-sonnet-4-6", client=messages_server.client())
    broken = [{"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_x", "name": "f", "input": {}}]}]

    with pytest.raises(APIError) as caught:
        await agent.run("hi", history=broken)  # type: ignore[arg-type]

    error = caught.value
    assert error.status_code == 400
    assert error.error_type == "invalid_request_error"
    assert error.request_id is not None
    assert error.request_id.startswith("req_")
    assert error.request_id in str(error)
    assert "tool_use" in str(error)
    assert error.messages[-1] == {"role": "user", "content": "hi"}
    messages_server.rejected.clear()  # this test sends an invalid request on purpose


async def test_rate_limits_beyond_the_sdk_retries_surface_as_api_error(
    messages_server: MessagesServer,
) -> None:
    messages_server.script(*[Fault.rate_limit(retry_after=0) for _ in range(3)])
    agent = Agent(model="claude-sonnet-4-6", client=messages_server.client(max_retries=2))

    with pytest.raises(APIError) as caught:
        await agent.run("hi")

    assert caught.value.status_code == 429
    assert caught.value.error_type == "rate_limit_error"
    assert len(messages_server.requests) == 3


async def test_a_fault_absorbed_by_the_sdk_retry_does_not_disturb_the_run(
    messages_server: MessagesServer,
) -> None:
    messages_server.script(Fault.overloaded(), Reply.text("ok"))
    agent = Agent(model="claude-sonnet-4-6", client=messages_server.client())

    result = await agent.run("hi")

    assert result.output == "ok"
    assert result.usage.requests == 1
