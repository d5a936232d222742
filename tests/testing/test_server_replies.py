"""Scripted replies through the real SDK over loopback: JSON and SSE give the same `Message`."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from typing import Any

import anthropic
import pytest

from agentkit.testing import (
    MessagesServer,
    Reply,
    Request,
    estimate_tokens,
    redacted_thinking,
    text,
    thinking,
    tool_use,
)

MODEL = "claude-sonnet-5"
HI = [{"role": "user", "content": "hi"}]
ADD_TOOL = {"name": "add", "description": "Add two numbers.", "input_schema": {"type": "object"}}
THINKING = {"type": "enabled", "budget_tokens": 1024}

CITATION = {
    "type": "char_location",
    "cited_text": "Returns are accepted within 30 days.",
    "document_index": 0,
    "document_title": "Policy",
    "start_char_index": 0,
    "end_char_index": 36,
    "file_id": None,
}
CITATION2 = {**CITATION, "cited_text": "Shoes must be unworn.", "start_char_index": 37, "end_char_index": 58}

pytestmark = pytest.mark.anyio

REPLIES = {
    "text": (Reply.text("The capital of France is Paris, a city on the Seine."), {}),
    "parallel tool_use": (
        Reply.tool_calls(("add", {"a": 1, "b": 2}), ("add", {"a": 3, "b": {"nested": [4, "five"]}})),
        {"tools": [ADD_TOOL]},
    ),
    "thinking": (
        Reply([thinking("The user wants a sum; call the tool."), redacted_thinking(), tool_use("add", {})]),
        {"tools": [ADD_TOOL], "thinking": THINKING},
    ),
    "refusal": (Reply([text("I can't help.")], stop_reason="refusal", stop_details={"type": "refusal"}), {}),
    "a tool call without input": (Reply([tool_use("add", {})]), {"tools": [ADD_TOOL]}),
    "whitespace-only text beside a tool call": (
        Reply([text("\n\n"), tool_use("add", {"a": 1})]),
        {"tools": [ADD_TOOL]},
    ),
    "text with citations": (
        Reply([text("The policy allows "), text("30 days for returns", citations=[CITATION, CITATION2]), text(".")]),
        {},
    ),
}


def _without_id(message: anthropic.types.Message) -> dict[str, Any]:
    data = message.to_dict()
    assert data.pop("id").startswith("msg_")
    return data


@pytest.mark.parametrize("name", list(REPLIES))
async def test_streaming_rebuilds_the_same_message_as_create(messages_server: MessagesServer, name: str) -> None:
    reply, extra = REPLIES[name]
    messages_server.script(reply, reply)
    client = messages_server.client()
    params: dict[str, Any] = {"model": MODEL, "max_tokens": 2048, "messages": HI, **extra}

    created = await client.messages.create(**params)
    async with client.messages.stream(**params) as stream:
        streamed = await stream.get_final_message()

    assert _without_id(streamed) == _without_id(created)
    assert [b.to_dict() for b in created.content] == reply.content
    assert created.stop_reason == reply.resolved_stop_reason()
    assert [r.stream for r in messages_server.requests] == [False, True]


@pytest.mark.parametrize("name", list(REPLIES))
async def test_agentkit_folds_the_raw_events_into_the_message_the_sdk_builds(
    messages_server: MessagesServer, name: str
) -> None:
    """agentkit reads `create(stream=True)`'s raw events and folds them itself (`_loop.accumulate`);
    the message it gets must be the one the SDK's own stream helper accumulates, field for field."""
    from agentkit._loop.accumulate import Accumulated

    reply, extra = REPLIES[name]
    messages_server.script(reply, reply)
    client = messages_server.client()
    params: dict[str, Any] = {"model": MODEL, "max_tokens": 2048, "messages": HI, **extra}

    async with client.messages.stream(**params) as stream:
        expected = await stream.get_final_message()
    folded = Accumulated()
    async for event in await client.messages.create(**params, stream=True):
        folded.add(event)

    assert _without_id(folded.whole()) == _without_id(expected)


async def test_a_stream_cut_before_its_stop_is_not_a_message(messages_server: MessagesServer) -> None:
    from agentkit._loop.accumulate import Accumulated, BrokenResponse

    messages_server.script(Reply([text("Adding."), tool_use("add", {"a": 1, "b": 2})]))
    events = [
        e
        async for e in await messages_server.client().messages.create(
            model=MODEL, max_tokens=100, messages=HI, tools=[ADD_TOOL], stream=True
        )
    ]
    for cut in (len(events) - 1, len(events) - 3):  # no message_stop; the tool block left open
        folded = Accumulated()
        for event in events[:cut]:
            folded.add(event)
        with pytest.raises(BrokenResponse):
            folded.whole()


async def test_stop_reason_is_inferred_from_the_content(messages_server: MessagesServer) -> None:
    messages_server.script(Reply.text("hi"), Reply([text("Adding."), tool_use("add", {"a": 1})]))
    client = messages_server.client()
    first = await client.messages.create(model=MODEL, max_tokens=100, messages=HI)
    second = await client.messages.create(model=MODEL, max_tokens=100, messages=HI, tools=[ADD_TOOL])
    assert (first.stop_reason, second.stop_reason) == ("end_turn", "tool_use")
    assert second.content[1].type == "tool_use"
    assert second.content[1].id.startswith("toolu_")
    assert len(second.content[1].id) == len("toolu_") + 24


async def test_the_stream_is_the_apis_event_sequence(messages_server: MessagesServer) -> None:
    messages_server.script(Reply([text("Hello there, world"), tool_use("add", {"a": 1, "b": 2})]))
    stream = await messages_server.client().messages.create(
        model=MODEL, max_tokens=100, messages=HI, tools=[ADD_TOOL], stream=True
    )
    events = [event async for event in stream]
    kinds = [e.type for e in events]
    assert kinds[0] == "message_start"
    assert kinds[-2:] == ["message_delta", "message_stop"]
    start = events[0]
    assert start.type == "message_start"
    assert start.message.content == []
    assert start.message.stop_reason is None
    assert start.message.usage.input_tokens > 0
    deltas = [e.delta for e in events if e.type == "content_block_delta"]
    texts = [d.text for d in deltas if d.type == "text_delta"]
    pieces = [d.partial_json for d in deltas if d.type == "input_json_delta"]
    assert len(texts) > 1
    assert "".join(texts) == "Hello there, world"
    assert len(pieces) > 1
    assert json.loads("".join(pieces)) == {"a": 1, "b": 2}
    tool_start = [e for e in events if e.type == "content_block_start"][1]
    assert tool_start.type == "content_block_start"
    assert tool_start.content_block.to_dict()["input"] == {}


def test_the_sync_client_works_from_plain_code() -> None:
    with MessagesServer([Reply.text("sync")]) as server:
        message = server.sync_client().messages.create(model=MODEL, max_tokens=10, messages=HI)
    assert message.content[0].type == "text"
    assert message.content[0].text == "sync"


def test_stop_joins_the_server_thread_and_is_idempotent() -> None:
    server = MessagesServer().start()
    assert any(t.name == "agentkit-messages-server" for t in threading.enumerate())
    server.stop()
    server.stop()
    assert not any(t.name == "agentkit-messages-server" for t in threading.enumerate())


async def test_handlers_may_be_sync_or_async_and_see_the_request(messages_server: MessagesServer) -> None:
    seen: list[Request] = []

    def echo(request: Request) -> Reply:
        seen.append(request)
        return Reply.text(f"you said {request.last_user_text!r}")

    async def slow_echo(request: Request) -> Reply:
        await asyncio.sleep(0)
        return Reply.text(request.last_user_text.upper())

    client = messages_server.client()
    messages_server.respond_with(echo)
    said = [{"role": "user", "content": [text("one "), text("two")]}]
    first = await client.messages.create(model=MODEL, max_tokens=10, messages=said, system="Be brief.")
    messages_server.respond_with(slow_echo)
    second = await client.messages.create(model=MODEL, max_tokens=10, messages=HI)
    assert [first.content[0].to_dict()["text"], second.content[0].to_dict()["text"]] == [
        "you said 'one two'",
        "HI",
    ]
    assert seen[0].system == "Be brief."
    assert seen[0].model == MODEL
    assert seen[0].stream is False
    assert seen[0].headers["authorization"] == "Bearer sk-ant-test-not-a-real-key"
    assert seen[0].path == "/v1/messages"


async def test_request_exposes_the_tool_results_of_the_last_user_turn(
    messages_server: MessagesServer,
) -> None:
    call = tool_use("add", {"a": 1, "b": 2}, id="toolu_01")
    messages_server.script(Reply.text("3"))
    history = [
        {"role": "user", "content": "add 1 and 2"},
        {"role": "assistant", "content": [call]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_01", "content": "3"}]},
    ]
    await messages_server.client().messages.create(model=MODEL, max_tokens=10, messages=history, tools=[ADD_TOOL])
    (request,) = messages_server.requests
    assert request.tool_results == [{"type": "tool_result", "tool_use_id": "toolu_01", "content": "3"}]
    assert request.tool_result("toolu_01") is not None
    assert request.tool_result("toolu_02") is None
    assert request.last_user_text == ""
    assert request.tools == [ADD_TOOL]
    assert request.messages == history


async def test_latency_delays_each_answer_without_serialising_them() -> None:
    with MessagesServer(lambda request: Reply.text("ok"), latency=0.2) as server:
        client = server.client()
        started = time.perf_counter()
        answers = await asyncio.gather(
            *(client.messages.create(model=MODEL, max_tokens=10, messages=HI) for _ in range(20))
        )
        elapsed = time.perf_counter() - started
    assert len(answers) == 20
    assert len(server.requests) == 20
    assert 0.2 <= elapsed < 2.0  # twenty waits of 0.2 s overlap: one server loop, no thread per request


async def test_count_tokens_uses_the_same_estimate_as_usage(messages_server: MessagesServer) -> None:
    messages_server.script(Reply.text("ok"))
    client = messages_server.client()
    params: dict[str, Any] = {"model": MODEL, "messages": HI, "system": "You are terse.", "tools": [ADD_TOOL]}
    counted = await client.messages.count_tokens(**params)
    message = await client.messages.create(max_tokens=10, **params)
    assert counted.input_tokens == message.usage.input_tokens == estimate_tokens(params) > 0
    assert [r.path for r in messages_server.count_requests] == ["/v1/messages/count_tokens"]
    assert len(messages_server.requests) == 1


async def test_models_retrieve_reports_the_servers_limits(messages_server: MessagesServer) -> None:
    client = messages_server.client()
    info = await client.models.retrieve("claude-opus-4-8")
    assert (info.id, info.type, info.max_input_tokens, info.max_tokens) == (
        "claude-opus-4-8",
        "model",
        200_000,
        64_000,
    )
    assert info.display_name == "Claude Opus 4 8"
    listed = [model.id async for model in client.models.list()]
    assert listed == [MODEL]


async def test_a_cached_prefix_is_written_then_read(messages_server: MessagesServer) -> None:
    long_system = [{"type": "text", "text": "Policy. " * 800, "cache_control": {"type": "ephemeral"}}]
    messages_server.script(Reply.text("a"), Reply.text("b"))
    client = messages_server.client()
    params: dict[str, Any] = {"model": MODEL, "max_tokens": 10, "system": long_system, "messages": HI}
    first = (await client.messages.create(**params)).usage
    second = (await client.messages.create(**params)).usage
    prefix = estimate_tokens({"system": long_system})
    assert prefix >= 1024
    assert (first.cache_creation_input_tokens, first.cache_read_input_tokens) == (prefix, 0)
    assert first.cache_creation is not None
    assert first.cache_creation.ephemeral_5m_input_tokens == prefix
    assert (second.cache_creation_input_tokens, second.cache_read_input_tokens) == (0, prefix)
    assert first.input_tokens == second.input_tokens == estimate_tokens(params) - prefix
    assert second.service_tier == "standard"


async def test_max_tokens_zero_prewarms_the_cache_without_using_the_script(
    messages_server: MessagesServer,
) -> None:
    message = await messages_server.client().messages.create(model=MODEL, max_tokens=0, messages=HI)
    assert (message.content, message.stop_reason, message.usage.output_tokens) == ([], "max_tokens", 0)


async def test_a_script_that_runs_out_says_so(messages_server: MessagesServer) -> None:
    with pytest.raises(anthropic.InternalServerError, match="the script ran out") as caught:
        await messages_server.client().messages.create(model=MODEL, max_tokens=10, messages=HI)
    assert caught.value.status_code == 500
    assert len(messages_server.requests) == 3  # retried twice, quickly, like any 500


async def test_a_request_without_a_key_is_a_401(messages_server: MessagesServer) -> None:
    messages_server.script(Reply.text("unused"))
    client = messages_server.client()
    with pytest.raises(anthropic.AuthenticationError, match="x-api-key header is required"):
        await client.messages.create(
            model=MODEL, max_tokens=10, messages=HI, extra_headers={"Authorization": anthropic.omit}
        )
    assert len(messages_server.requests) == 1


async def test_an_unknown_path_is_a_404(messages_server: MessagesServer) -> None:
    with pytest.raises(anthropic.NotFoundError, match="Not found: GET /v1/nothing"):
        await messages_server.client().get("/v1/nothing", cast_to=object)


def test_the_fixture_client_works_across_event_loops(
    messages_server: MessagesServer, anthropic_client: anthropic.AsyncAnthropic
) -> None:
    messages_server.script(Reply.text("one"), Reply.text("two"))

    async def ask() -> str:
        message = await anthropic_client.messages.create(model=MODEL, max_tokens=10, messages=HI)
        return message.content[0].to_dict()["text"]

    assert [asyncio.run(ask()), asyncio.run(ask())] == ["one", "two"]


async def test_the_fixture_client_in_an_async_test(
    messages_server: MessagesServer, anthropic_client: anthropic.AsyncAnthropic
) -> None:
    messages_server.script(Reply.text("async"))
    message = await anthropic_client.messages.create(model=MODEL, max_tokens=10, messages=HI)
    assert message.content[0].to_dict()["text"] == "async"
    assert messages_server.rejected == []


async def test_citations_stream_as_citations_deltas_after_the_text(messages_server: MessagesServer) -> None:
    messages_server.script(Reply([text("30 days", citations=[CITATION, CITATION2])]))
    stream = await messages_server.client().messages.create(model=MODEL, max_tokens=100, messages=HI, stream=True)
    events = [event async for event in stream]
    start = next(e for e in events if e.type == "content_block_start")
    assert start.content_block.to_dict() == {"type": "text", "text": ""}
    deltas = [e.delta.type for e in events if e.type == "content_block_delta"]
    assert deltas[-2:] == ["citations_delta", "citations_delta"]
    assert set(deltas[:-2]) == {"text_delta"}


async def test_whitespace_only_text_comes_back_as_it_was_scripted(messages_server: MessagesServer) -> None:
    messages_server.script(Reply([text("\n\n"), tool_use("add", {"a": 1})]))
    message = await messages_server.client().messages.create(model=MODEL, max_tokens=100, messages=HI, tools=[ADD_TOOL])
    assert message.content[0].to_dict() == {"type": "text", "text": "\n\n"}
    assert message.stop_reason == "tool_use"
