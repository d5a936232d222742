"""Scripted faults through the real SDK: which it retries, how fast, and what it raises."""

from __future__ import annotations

import json
from typing import Any

import anthropic
import httpx2
import pytest

from agentkit.testing import Fault, MessagesServer, Reply, Request, text, tool_use
from agentkit.testing._script import ERROR_TYPES

MODEL = "claude-sonnet-5"
HI = [{"role": "user", "content": "hi"}]
PARAMS: dict[str, Any] = {"model": MODEL, "max_tokens": 10, "messages": HI}

pytestmark = pytest.mark.anyio


async def _ask(client: anthropic.AsyncAnthropic) -> str:
    message = await client.messages.create(model=MODEL, max_tokens=10, messages=HI)
    return str(message.content[0].to_dict()["text"])


async def test_a_rate_limit_is_retried_at_once(messages_server: MessagesServer) -> None:
    messages_server.script(Fault.rate_limit(), Reply.text("after 429"))
    assert await _ask(messages_server.client()) == "after 429"
    assert len(messages_server.requests) == 2
    assert messages_server.requests[1].headers["x-stainless-retry-count"] == "1"


def test_fault_responses_have_the_apis_shape_and_retry_headers() -> None:
    with MessagesServer([Fault.rate_limit(retry_after=2.5), Fault.overloaded()]) as server:
        headers = {"x-api-key": "k", "content-type": "application/json"}
        with httpx2.Client(base_url=server.url, headers=headers) as http:
            limited = http.post("/v1/messages", json=PARAMS)
            overloaded = http.post("/v1/messages", json=PARAMS)
    assert limited.status_code == 429
    assert (limited.headers["retry-after"], limited.headers["retry-after-ms"]) == ("3", "2500")
    body = limited.json()
    assert body["type"] == "error"
    assert body["error"]["type"] == "rate_limit_error"
    assert body["request_id"] == limited.headers["request-id"]
    assert body["request_id"].startswith("req_")
    assert overloaded.status_code == 529
    assert overloaded.json()["error"]["type"] == "overloaded_error"
    assert overloaded.headers["retry-after-ms"] == "1"  # the SDK would otherwise back off 0.5-8 s


async def test_overloaded_then_success(messages_server: MessagesServer) -> None:
    messages_server.script(Fault.overloaded(), Reply.text("after 529"))
    assert await _ask(messages_server.client()) == "after 529"
    assert len(messages_server.requests) == 2


async def test_server_errors_exhaust_the_retries(messages_server: MessagesServer) -> None:
    messages_server.script(Fault.server_error(), Fault.server_error(), Fault.server_error(), Reply.text("late"))
    with pytest.raises(anthropic.InternalServerError) as caught:
        await _ask(messages_server.client())
    assert caught.value.status_code == 500
    assert caught.value.type == "api_error"
    assert len(messages_server.requests) == 3  # max_retries=2


async def test_overloaded_errors_exhaust_into_overloaded_error(messages_server: MessagesServer) -> None:
    messages_server.script(*[Fault.overloaded()] * 3)
    with pytest.raises(anthropic.OverloadedError):
        await _ask(messages_server.client())


async def test_a_reset_connection_is_retried(messages_server: MessagesServer) -> None:
    # No response means no retry-after: this retry waits out the SDK's own backoff (about 0.5 s).
    messages_server.script(Fault.reset(), Reply.text("after reset"))
    assert await _ask(messages_server.client()) == "after reset"
    assert len(messages_server.requests) == 2


async def test_a_cut_stream_raises_and_leaves_the_reply_for_a_retry(messages_server: MessagesServer) -> None:
    messages_server.script(Fault.cut_stream(after_events=4), Reply.text("whole"))
    client = messages_server.client()
    seen: list[str] = []

    async def read_all() -> None:
        async with client.messages.stream(**PARAMS) as stream:
            async for event in stream:
                seen.append(event.type)

    # The SDK does not retry a stream that broke after its 200, and lets the transport error through.
    with pytest.raises(httpx2.RemoteProtocolError, match="incomplete chunked read"):
        await read_all()
    assert seen[0] == "message_start"
    assert "message_stop" not in seen
    async with client.messages.stream(**PARAMS) as stream:
        assert (await stream.get_final_text()) == "whole"


async def test_a_cut_stream_on_a_plain_request_is_a_reset(messages_server: MessagesServer) -> None:
    messages_server.script(Fault.cut_stream(), Reply.text("whole"))
    assert await _ask(messages_server.client()) == "whole"
    assert len(messages_server.requests) == 2


async def test_an_error_event_mid_stream_is_a_status_error_with_status_200(
    messages_server: MessagesServer,
) -> None:
    messages_server.script(Fault.stream_error())
    with pytest.raises(anthropic.APIStatusError) as caught:
        async with messages_server.client().messages.stream(**PARAMS) as stream:
            await stream.get_final_message()
    assert not isinstance(caught.value, anthropic.OverloadedError)
    assert (caught.value.status_code, caught.value.type) == (200, "overloaded_error")
    assert len(messages_server.requests) == 1  # not retried


async def test_a_stream_error_on_a_plain_request_is_the_http_status(messages_server: MessagesServer) -> None:
    messages_server.script(Fault.stream_error("rate_limit_error"), Reply.text("ok"))
    assert await _ask(messages_server.client()) == "ok"
    assert len(messages_server.requests) == 2


async def test_a_hang_times_the_client_out_and_keeps_the_next_reply(messages_server: MessagesServer) -> None:
    messages_server.script(Fault.hang(30), Reply.text("after the hang"))
    client = messages_server.client(max_retries=0, timeout=0.2)
    with pytest.raises(anthropic.APITimeoutError):
        await _ask(client)
    assert await _ask(client) == "after the hang"  # the abandoned request took nothing


async def test_a_short_hang_then_the_next_reply(messages_server: MessagesServer) -> None:
    messages_server.script(Fault.hang(0.05), Reply.text("slow"))
    assert await _ask(messages_server.client()) == "slow"
    assert len(messages_server.requests) == 1


def _raises(request: Request) -> Reply:
    raise KeyError("no such case")


@pytest.mark.parametrize(
    ("handler", "expected"),
    [
        (_raises, "the handler raised KeyError: 'no such case'"),
        (lambda request: "oops", "a script item must be a Reply or a Fault, not 'oops'"),
    ],
    ids=["raises", "returns a str"],
)
async def test_a_broken_handler_fails_at_once_with_its_error(handler: Any, expected: str) -> None:
    with MessagesServer(handler) as server, pytest.raises(anthropic.InternalServerError, match=expected):
        await _ask(server.client())
    assert len(server.requests) == 1  # not retried: x-should-retry is false
    assert isinstance(server.errors[0], KeyError | TypeError)


# -- bodies that end before the message does (issue 14.1): what the SDK makes of each ----------

PAY = tool_use("pay", {"to": "alice", "amount": 1500}, id="toolu_pay")
PAYING = Reply([text("Paying."), PAY])


async def _final_of_stream(client: anthropic.AsyncAnthropic) -> tuple[list[str], anthropic.types.Message]:
    async with client.messages.stream(**PARAMS) as stream:
        seen = [event.type async for event in stream]
        return seen, await stream.get_final_message()


@pytest.mark.parametrize("fault", [Fault.end_stream, Fault.close_stream], ids=["chunked end", "FIN"])
async def test_a_stream_ended_cleanly_mid_tool_input_is_returned_by_the_sdk_as_a_message(
    messages_server: MessagesServer, fault: Any
) -> None:
    # message_start, ping, text (start, 3 deltas, stop), tool_use start, "" and 1 of 3 input pieces
    messages_server.script(fault(after_events=10), PAYING)
    seen, message = await _final_of_stream(messages_server.client())
    # Nothing raised: the SDK hands over a message whose stop_reason is None and whose tool input
    # is whatever part arrived. Only a missing message_stop tells the answer is not whole.
    assert "message_stop" not in seen
    assert message.stop_reason is None
    call = message.content[1].to_dict()
    assert call["name"] == "pay"
    assert call["input"] != PAY["input"]
    assert len(messages_server.requests) == 1  # not retried


async def test_a_stream_ended_cleanly_just_before_message_stop_looks_whole(messages_server: MessagesServer) -> None:
    messages_server.script(Fault.end_stream(after_events=-1), PAYING)
    seen, message = await _final_of_stream(messages_server.client())
    assert seen[-1] == "message_delta"  # everything but message_stop
    assert (message.stop_reason, message.content[1].to_dict()["input"]) == ("tool_use", PAY["input"])


async def test_a_close_delimited_stream_has_neither_length_nor_chunking() -> None:
    with MessagesServer([Fault.close_stream(after_events=-1), PAYING]) as server:
        headers = {"x-api-key": "k", "content-type": "application/json"}
        with httpx2.Client(base_url=server.url, headers=headers) as http:
            response = http.post("/v1/messages", json={**PARAMS, "stream": True})
    assert response.status_code == 200
    assert "content-length" not in response.headers
    assert "transfer-encoding" not in response.headers
    assert "event: message_stop" not in response.text
    assert "event: message_delta" in response.text


@pytest.mark.parametrize("fault", [Fault.end_stream, Fault.close_stream], ids=["with a length", "FIN"])
async def test_a_json_body_cut_short_but_ended_cleanly_raises_a_raw_decode_error(
    messages_server: MessagesServer, fault: Any
) -> None:
    messages_server.script(fault(), PAYING)
    # The SDK parses what HTTP calls a whole body and lets the JSON error out, untyped and unretried.
    with pytest.raises(json.JSONDecodeError):
        await messages_server.client().messages.create(**PARAMS)
    assert len(messages_server.requests) == 1
    assert await _ask_paying(messages_server.client()) == PAY["input"]  # the reply stayed queued


async def _ask_paying(client: anthropic.AsyncAnthropic) -> Any:
    message = await client.messages.create(**PARAMS)
    return message.content[1].to_dict()["input"]


async def test_a_json_body_cut_by_a_fin_is_a_connection_error_the_sdk_retries(messages_server: MessagesServer) -> None:
    messages_server.script(Fault.cut_body(), PAYING)
    assert await _ask_paying(messages_server.client()) == PAY["input"]
    assert len(messages_server.requests) == 2
    messages_server.script(Fault.cut_body(), PAYING)
    with pytest.raises(anthropic.APIConnectionError):
        await messages_server.client(max_retries=0).messages.create(**PARAMS)


async def test_a_cut_body_on_a_stream_is_a_broken_chunked_transfer(messages_server: MessagesServer) -> None:
    messages_server.script(Fault.cut_body(), PAYING)
    with pytest.raises(httpx2.RemoteProtocolError, match="incomplete chunked read"):
        await _final_of_stream(messages_server.client())


# -- error events and statuses of every type ------------------------------------------------------


@pytest.mark.parametrize("error_type", ERROR_TYPES)
async def test_an_error_event_of_each_type_is_a_status_error_with_status_200(
    messages_server: MessagesServer, error_type: str
) -> None:
    messages_server.script(Fault.stream_error(error_type, after_events=5), PAYING)
    with pytest.raises(anthropic.APIStatusError) as caught:
        await _final_of_stream(messages_server.client())
    assert (caught.value.status_code, caught.value.type) == (200, error_type)
    assert len(messages_server.requests) == 1  # the SDK never retries a stream after its 200
    assert await _ask_paying(messages_server.client()) == PAY["input"]  # the cut reply stayed queued


@pytest.mark.parametrize("error_type", ERROR_TYPES)
async def test_an_error_of_each_type_is_its_http_status(messages_server: MessagesServer, error_type: str) -> None:
    messages_server.script(Fault.error(error_type))
    with pytest.raises(anthropic.APIStatusError) as caught:
        await messages_server.client(max_retries=0).messages.create(**PARAMS)
    assert (caught.value.status_code, caught.value.type) == (Fault.error(error_type).status, error_type)
    expected = {
        "rate_limit_error": anthropic.RateLimitError,
        "overloaded_error": anthropic.OverloadedError,
        "api_error": anthropic.InternalServerError,
        "permission_error": anthropic.PermissionDeniedError,
        "not_found_error": anthropic.NotFoundError,
        "authentication_error": anthropic.AuthenticationError,
        "invalid_request_error": anthropic.BadRequestError,
    }
    assert isinstance(caught.value, expected.get(error_type, anthropic.APIStatusError))


def test_an_unknown_error_type_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown error type 'teapot_error'; use one of invalid_request_error"):
        Fault.error("teapot_error")
