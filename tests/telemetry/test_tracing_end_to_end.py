"""The whole tree of a real run through `Agent`: the issue's acceptance test.

Two tool turns (the first with a failing tool beside a working one), then an answer cut at
`max_tokens` and continued. Asserted: span names, kinds, parent links, order and exact attribute
values; the metrics; no content by default; the API key nowhere.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from opentelemetry.trace import SpanKind, StatusCode
from otel_capture import Otel

from agentkit import Agent, tool
from agentkit.testing import MessagesServer, Reply, text, tool_use

pytestmark = pytest.mark.anyio

MODEL = "claude-sonnet-4-6"
SECRET = "sk-ant-api03-CANARY-e2e-0b1d6f2a9c-never-log-me"
CONTENT_KEYS = {"gen_ai.system_instructions", "gen_ai.input.messages", "gen_ai.output.messages"}
CONTENT_KEYS |= {"gen_ai.tool.call.arguments", "gen_ai.tool.call.result"}
# (input, cache read, cache write, output) of each of the four model calls
USAGE = [(100, 0, 900, 30), (150, 900, 0, 20), (40, 900, 100, 8), (45, 1000, 0, 6)]


def usage(i: int) -> dict[str, int]:
    fresh, read, write, out = USAGE[i]
    return {
        "input_tokens": fresh,
        "cache_read_input_tokens": read,
        "cache_creation_input_tokens": write,
        "output_tokens": out,
    }


@tool
def get_weather(city: str) -> str:
    """The weather in a city."""
    return {"Paris": "18°C, light rain", "Tokyo": "24°C, clear"}[city]


@tool
def flaky(city: str) -> str:
    """A tool that always fails."""
    raise RuntimeError("upstream timeout")


def script(server: MessagesServer) -> None:
    server.script(
        Reply(
            [
                tool_use("get_weather", {"city": "Paris"}, id="toolu_w1"),
                tool_use("flaky", {"city": "Paris"}, id="toolu_f1"),
            ],
            usage=usage(0),
        ),
        Reply([tool_use("get_weather", {"city": "Tokyo"}, id="toolu_w2")], usage=usage(1)),
        Reply([text("Paris: 18°C, light rain.")], stop_reason="max_tokens", usage=usage(2)),
        Reply([text(" Tokyo: 24°C, clear.")], usage=usage(3)),
    )


def agent(server: MessagesServer, otel: Otel, **settings: Any) -> Agent:
    client = server.client(api_key=SECRET, open_telemetry={"tracer_provider": otel.tracer_provider})
    return Agent(
        name="weather",
        model=MODEL,
        system="You report the weather.",
        tools=[get_weather, flaky],
        max_tokens=1024,
        client=client,
        telemetry=otel.with_settings(**settings),  # type: ignore[call-arg]
    )


async def test_the_whole_tree_of_a_run(messages_server: MessagesServer, otel: Otel) -> None:
    script(messages_server)
    result = await agent(messages_server, otel).run("Weather in Paris and Tokyo?")
    assert result.output == "Paris: 18°C, light rain. Tokyo: 24°C, clear."

    spans = otel.spans()
    run = spans[0]
    assert [(s.name, s.kind) for s in spans] == [
        ("invoke_agent weather", SpanKind.INTERNAL),
        (f"chat {MODEL}", SpanKind.CLIENT),
        ("execute_tool get_weather", SpanKind.INTERNAL),
        ("execute_tool flaky", SpanKind.INTERNAL),
        (f"chat {MODEL}", SpanKind.CLIENT),
        ("execute_tool get_weather", SpanKind.INTERNAL),
        (f"chat {MODEL}", SpanKind.CLIENT),  # cut at max_tokens
        (f"chat {MODEL}", SpanKind.CLIENT),  # its continuation
    ]
    assert run.parent is None
    for child in spans[1:]:
        assert child.parent is not None
        assert child.parent.span_id == run.context.span_id
        assert child.context.trace_id == run.context.trace_id
    assert not any(s.name.startswith("anthropic.") for s in otel.exporter.get_finished_spans())  # one span per call

    conversation = (run.attributes or {})["gen_ai.conversation.id"]
    assert isinstance(conversation, str)
    assert conversation
    port = int(messages_server.url.rsplit(":", 1)[1])
    chats = [s for s in spans if s.name.startswith("chat")]
    for i, (chat, stop) in enumerate(zip(chats, ["tool_use", "tool_use", "max_tokens", "end_turn"], strict=True)):
        fresh, read, write, out = USAGE[i]
        attributes = dict(chat.attributes or {})
        assert re.fullmatch(r"msg_\w+", attributes.pop("gen_ai.response.id"))
        assert re.fullmatch(r"req_\w+", attributes.pop("anthropic.request.id"))
        assert attributes == {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": "anthropic",
            "gen_ai.request.model": MODEL,
            "gen_ai.request.max_tokens": 1024,
            "gen_ai.conversation.id": conversation,
            "server.address": "127.0.0.1",
            "server.port": port,
            "gen_ai.response.model": MODEL,
            "gen_ai.response.finish_reasons": (stop,),
            "gen_ai.usage.input_tokens": fresh + read + write,
            "gen_ai.usage.output_tokens": out,
            "gen_ai.usage.cache_read.input_tokens": read,
            "gen_ai.usage.cache_creation.input_tokens": write,
        }
        assert chat.status.status_code is StatusCode.UNSET

    tools = [s for s in spans if s.name.startswith("execute_tool")]
    for span, (name, call_id) in zip(
        tools, [("get_weather", "toolu_w1"), ("flaky", "toolu_f1"), ("get_weather", "toolu_w2")], strict=True
    ):
        expected = {
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": name,
            "gen_ai.tool.call.id": call_id,
            "gen_ai.tool.type": "function",
            "gen_ai.agent.name": "weather",
        }
        if name == "flaky":
            expected["error.type"] = "tool_error"
        assert dict(span.attributes or {}) == expected
        assert span.status.status_code is (StatusCode.ERROR if name == "flaky" else StatusCode.UNSET)

    total_in = sum(fresh + read + write for fresh, read, write, _ in USAGE)
    assert dict(run.attributes or {}) == {
        "gen_ai.operation.name": "invoke_agent",
        "gen_ai.provider.name": "anthropic",
        "gen_ai.agent.name": "weather",
        "gen_ai.request.model": MODEL,
        "gen_ai.conversation.id": conversation,
        "gen_ai.response.finish_reasons": ("end_turn",),
        "gen_ai.usage.input_tokens": total_in,
        "gen_ai.usage.output_tokens": sum(u[3] for u in USAGE),
        "gen_ai.usage.cache_read.input_tokens": sum(u[1] for u in USAGE),
        "gen_ai.usage.cache_creation.input_tokens": sum(u[2] for u in USAGE),
    }
    assert run.status.status_code is StatusCode.UNSET

    tokens = {a["gen_ai.token.type"]: p for a, p in otel.points("gen_ai.client.token.usage")}
    assert (tokens["input"].count, tokens["input"].sum) == (4, total_in)
    assert (tokens["output"].count, tokens["output"].sum) == (4, sum(u[3] for u in USAGE))
    ((_, calls),) = otel.points("gen_ai.client.operation.duration")
    assert calls.count == 4
    tool_points = {
        (a["gen_ai.tool.name"], a.get("error.type")): p.count for a, p in otel.points("gen_ai.execute_tool.duration")
    }
    assert tool_points == {("get_weather", None): 2, ("flaky", "tool_error"): 1}
    ((_, runs),) = otel.points("gen_ai.invoke_agent.duration")
    assert runs.count == 1

    everything = "\n".join(s.to_json() for s in otel.exporter.get_finished_spans())
    assert all(CONTENT_KEYS.isdisjoint(s.attributes or {}) for s in spans)  # nothing captured by default
    assert "light rain" not in everything
    assert "Weather in Paris" not in everything
    assert SECRET not in everything


async def test_leaving_a_stream_early_ends_every_span(messages_server: MessagesServer, otel: Otel) -> None:
    script(messages_server)
    async with agent(messages_server, otel).stream("Weather in Paris and Tokyo?") as run:
        async for _event in run:
            break
    spans = otel.exporter.get_finished_spans()
    assert [s.name for s in spans if s.name.startswith("invoke_agent")] == ["invoke_agent weather"]
    assert all(s.end_time is not None for s in spans)


async def test_capture_content_records_the_conversation(messages_server: MessagesServer, otel: Otel) -> None:
    script(messages_server)
    await agent(messages_server, otel, capture_content=True).run("Weather in Paris and Tokyo?")
    spans = otel.spans()
    first_chat = next(s for s in spans if s.name.startswith("chat"))
    assert "Weather in Paris and Tokyo?" in (first_chat.attributes or {})["gen_ai.input.messages"]
    assert "You report the weather." in (first_chat.attributes or {})["gen_ai.system_instructions"]
    flaky_span = next(s for s in spans if s.name == "execute_tool flaky")
    assert "upstream timeout" in (flaky_span.status.description or "")
    assert SECRET not in "\n".join(s.to_json() for s in spans)
