"""The span helpers on their own: names, kinds, parents, attributes, status, and every way a span ends."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncGenerator
from types import SimpleNamespace
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.trace import SpanKind, StatusCode
from otel_capture import Otel

from agentkit import RunResult, Usage
from agentkit.errors import APIError, MaxTurnsExceeded
from agentkit.telemetry import RunTelemetry, error_type

pytestmark = pytest.mark.anyio


def telemetry(otel: Otel, **kwargs: Any) -> RunTelemetry:
    options: dict[str, Any] = {"agent_name": "weather", "model": "claude-haiku-4-5", "run_id": "run1"}
    return RunTelemetry(**{**options, "settings": otel.settings, **kwargs})


def message(**overrides: Any) -> SimpleNamespace:
    usage = SimpleNamespace(
        input_tokens=10, output_tokens=5, cache_read_input_tokens=100, cache_creation_input_tokens=20
    )
    fields: dict[str, Any] = {
        "id": "msg_1",
        "model": "claude-haiku-4-5-20251001",
        "stop_reason": "end_turn",
        "usage": usage,
        "content": [{"type": "text", "text": "Sunny."}],
        "_request_id": "req_1",
    }
    return SimpleNamespace(**{**fields, **overrides})


def result(stop: str = "end_turn") -> RunResult[str]:
    usage = Usage(input_tokens=30, output_tokens=12, cache_read_tokens=200, cache_write_tokens=40, requests=2)
    return RunResult("Sunny.", [], usage, stop, 2, None, "run1")  # type: ignore[arg-type]


async def test_a_run_is_an_internal_invoke_agent_span_with_the_run_totals(otel: Otel) -> None:
    with telemetry(otel, conversation_id="conv_1") as tel:
        tel.finish(result())

    (span,) = otel.spans()
    assert span.name == "invoke_agent weather"
    assert span.kind is SpanKind.INTERNAL
    assert span.status.status_code is StatusCode.UNSET
    assert dict(span.attributes or {}) == {
        "gen_ai.operation.name": "invoke_agent",
        "gen_ai.provider.name": "anthropic",
        "gen_ai.agent.name": "weather",
        "gen_ai.request.model": "claude-haiku-4-5",
        "gen_ai.conversation.id": "conv_1",
        "gen_ai.response.finish_reasons": ("end_turn",),
        "gen_ai.usage.input_tokens": 270,  # cached tokens included, as the conventions say
        "gen_ai.usage.output_tokens": 12,
        "gen_ai.usage.cache_read.input_tokens": 200,
        "gen_ai.usage.cache_creation.input_tokens": 40,
    }
    assert tel.trace_id == format(span.context.trace_id, "032x")


async def test_model_calls_and_tool_calls_are_children_of_the_run_in_order(otel: Otel) -> None:
    params = {"model": "claude-haiku-4-5", "max_tokens": 1024, "temperature": 0.2, "messages": []}
    with telemetry(otel) as tel:
        with tel.model_call(params, turn=1) as call:
            call.response(message(stop_reason="tool_use"))
        for call_id, name in [("toolu_a", "get_weather"), ("toolu_b", "get_time")]:
            with tel.tool_call(call_id, name, {"city": "Paris"}, turn=1) as tool:
                tool.result("18°C", is_error=False)
        with tel.model_call(params, turn=2) as call:
            call.response(message())
        tel.finish(result())

    run, chat1, tool_a, tool_b, chat2 = otel.spans()
    assert [s.name for s in (run, chat1, tool_a, tool_b, chat2)] == [
        "invoke_agent weather",
        "chat claude-haiku-4-5",
        "execute_tool get_weather",
        "execute_tool get_time",
        "chat claude-haiku-4-5",
    ]
    for child in (chat1, tool_a, tool_b, chat2):
        assert child.parent is not None
        assert child.parent.span_id == run.context.span_id
        assert child.context.trace_id == run.context.trace_id
    assert (chat1.kind, tool_a.kind) == (SpanKind.CLIENT, SpanKind.INTERNAL)
    assert dict(chat1.attributes or {}) == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "anthropic",
        "gen_ai.request.model": "claude-haiku-4-5",
        "gen_ai.request.max_tokens": 1024,
        "gen_ai.request.temperature": 0.2,
        "gen_ai.response.id": "msg_1",
        "gen_ai.response.model": "claude-haiku-4-5-20251001",
        "gen_ai.response.finish_reasons": ("tool_use",),
        "gen_ai.usage.input_tokens": 130,
        "gen_ai.usage.output_tokens": 5,
        "gen_ai.usage.cache_read.input_tokens": 100,
        "gen_ai.usage.cache_creation.input_tokens": 20,
        "anthropic.request.id": "req_1",
    }
    assert dict(tool_a.attributes or {}) == {
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": "get_weather",
        "gen_ai.tool.call.id": "toolu_a",
        "gen_ai.tool.type": "function",
        "gen_ai.agent.name": "weather",
    }
    assert tool_a.status.status_code is StatusCode.UNSET


async def test_request_settings_are_read_where_the_sdk_sends_them(otel: Otel) -> None:
    params = {
        "model": "claude-opus-4-1",
        "max_tokens": 64,
        "extra_body": {"top_p": 0.9, "top_k": 5},
        "stop_sequences": ["END"],
        "output_config": {"format": {"type": "json_schema", "schema": {}}},
    }
    with telemetry(otel) as tel, tel.model_call(params, stream=True):
        pass
    chat = otel.span("chat claude-opus-4-1")
    attributes = dict(chat.attributes or {})
    assert attributes["gen_ai.request.top_p"] == 0.9
    assert attributes["gen_ai.request.top_k"] == 5.0
    assert attributes["gen_ai.request.stop_sequences"] == ("END",)
    assert attributes["gen_ai.request.stream"] is True
    assert attributes["gen_ai.output.type"] == "json"
    assert "gen_ai.request.temperature" not in attributes


async def test_a_failed_model_call_fails_its_span_and_the_run(otel: Otel) -> None:
    error = APIError("Messages API call failed", status_code=529, request_id="req_9", error_type="overloaded_error")
    with pytest.raises(APIError), telemetry(otel) as tel, tel.model_call({"model": "claude-haiku-4-5"}):
        raise error

    run, chat = otel.spans()
    for span in (run, chat):
        assert span.status.status_code is StatusCode.ERROR
        assert span.status.description is None  # the message could quote the request: capture is off
        assert (span.attributes or {})["error.type"] == "overloaded_error"
    assert (chat.attributes or {})["http.response.status_code"] == 529
    assert (chat.attributes or {})["anthropic.request.id"] == "req_9"


async def test_an_error_result_fails_the_tool_span_and_a_raising_tool_names_its_exception(otel: Otel) -> None:
    with telemetry(otel) as tel:
        with tel.tool_call("toolu_1", "lookup", {}) as tool:
            tool.result("Tool 'lookup' failed: KeyError: 'x'", is_error=True)
        with tel.tool_call("toolu_2", "slow", {}) as tool:
            tool.result("Tool 'slow' timed out after 1s.", is_error=True, error_type="timeout")
        with pytest.raises(ZeroDivisionError), tel.tool_call("toolu_3", "broken", {}):
            raise ZeroDivisionError
        tel.finish(result())

    _, lookup, slow, broken = otel.spans()
    assert (lookup.status.status_code, lookup.status.description) == (StatusCode.ERROR, None)
    assert [s.attributes["error.type"] for s in (lookup, slow, broken) if s.attributes] == [
        "tool_error",
        "timeout",
        "ZeroDivisionError",
    ]


async def test_the_tool_span_is_current_inside_the_tool_and_only_there(otel: Otel) -> None:
    app_tracer = otel.tracer_provider.get_tracer("app")
    with app_tracer.start_as_current_span("request") as outer, telemetry(otel) as tel:
        assert trace.get_current_span() is outer  # the run span is never current
        with tel.tool_call("toolu_1", "lookup", {}), app_tracer.start_as_current_span("db query"):
            pass
        assert trace.get_current_span() is outer
        with tel.model_call({"model": "m"}) as call:
            assert trace.get_current_span() is outer
            with call.activated():
                assert trace.get_current_span() is call.span
        tel.finish(result())

    spans = {s.name: s for s in otel.spans()}
    assert spans["invoke_agent weather"].parent.span_id == spans["request"].context.span_id  # type: ignore[union-attr]
    assert spans["db query"].parent.span_id == spans["execute_tool lookup"].context.span_id  # type: ignore[union-attr]


async def run_loop(tel: RunTelemetry, seen: list[Any]) -> AsyncGenerator[str, None]:
    """A miniature of the run loop: spans opened across yields, as a streamed run does."""
    with tel:
        with tel.model_call({"model": "m"}, stream=True) as call:
            for delta in ("Sun", "ny"):
                call.first_chunk()
                seen.append(trace.get_current_span())
                yield delta  # the chat span stays open, and is not current, while the consumer runs
            call.response(message())
        yield "turn finished"
        tel.finish(result())
        yield "finished"


async def test_a_consumer_between_yields_sees_its_own_context_not_the_runs(otel: Otel) -> None:
    consumer = otel.tracer_provider.get_tracer("app")
    seen: list[Any] = []
    with consumer.start_as_current_span("handler") as handler:
        async for _ in run_loop(telemetry(otel), seen):
            assert trace.get_current_span() is handler
            with consumer.start_as_current_span("render"):
                pass
    assert all(span is handler for span in seen)
    renders = [s for s in otel.spans() if s.name == "render"]
    assert len(renders) == 4
    assert all(r.parent and r.parent.span_id == handler.get_span_context().span_id for r in renders)
    assert otel.span("chat m").attributes["gen_ai.response.time_to_first_chunk"] >= 0  # type: ignore[index]


async def test_closing_the_stream_mid_call_ends_every_span_without_an_error(otel: Otel) -> None:
    events = run_loop(telemetry(otel), [])
    assert await events.__anext__() == "Sun"
    await events.aclose()

    run, chat = otel.spans()
    assert (run.name, chat.name) == ("invoke_agent weather", "chat m")
    assert None not in (run.end_time, chat.end_time)
    assert (run.status.status_code, chat.status.status_code) == (StatusCode.UNSET, StatusCode.UNSET)
    assert otel.points("gen_ai.client.operation.duration") == []  # an abandoned call has no duration


async def test_a_cancelled_run_ends_its_spans(otel: Otel) -> None:
    started = asyncio.Event()

    async def run() -> None:
        with telemetry(otel) as tel, tel.tool_call("toolu_1", "sleepy", {}):
            started.set()
            await asyncio.sleep(60)

    task = asyncio.create_task(run())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert [(s.name, s.status.status_code) for s in otel.spans()] == [
        ("invoke_agent weather", StatusCode.UNSET),
        ("execute_tool sleepy", StatusCode.UNSET),
    ]


async def test_the_final_event_comes_after_the_run_span_ended(otel: Otel) -> None:
    events = run_loop(telemetry(otel), [])
    async for event in events:
        if event == "finished":
            break  # Agent.run stops reading here; the generator is closed much later
    assert [s.name for s in otel.spans()] == ["invoke_agent weather", "chat m"]
    await events.aclose()


async def test_a_run_span_never_ended_is_ended_when_collected(otel: Otel) -> None:
    telemetry(otel).start()
    gc.collect()
    assert [s.name for s in otel.spans()] == ["invoke_agent weather"]


async def test_a_run_error_is_its_class_name() -> None:
    assert error_type(MaxTurnsExceeded("too many")) == "MaxTurnsExceeded"
    assert error_type(APIError("x", status_code=500)) == "500"
    assert error_type(APIError("x", status_code=529, error_type="overloaded_error")) == "overloaded_error"


async def test_without_a_provider_everything_is_a_cheap_no_op() -> None:
    tel = RunTelemetry(agent_name="a", model="m", run_id="r")
    with tel:
        with tel.model_call({"model": "m"}) as call, call.activated():
            call.response(message())
        with tel.tool_call("t", "x", {}) as tool:
            tool.result("ok", is_error=False)
        tel.finish(result())
    assert tel.trace_id is None
    assert not tel.span.is_recording()
