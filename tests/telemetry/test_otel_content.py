"""Content capture: off by default, on by setting or by the conventions' variable, always bounded."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest
from opentelemetry.trace import StatusCode
from otel_capture import Otel

from agentkit._telemetry._content import fit
from agentkit.errors import ConfigurationError
from agentkit.telemetry import RunTelemetry

pytestmark = pytest.mark.anyio

CONTENT_KEYS = {
    "gen_ai.system_instructions",
    "gen_ai.input.messages",
    "gen_ai.output.messages",
    "gen_ai.tool.call.arguments",
    "gen_ai.tool.call.result",
}
PARAMS: dict[str, Any] = {
    "model": "claude-haiku-4-5",
    "max_tokens": 100,
    "system": "You are terse.",
    "messages": [
        {"role": "user", "content": "Weather in Paris?"},
        {
            "role": "assistant",
            "content": [
                {"type": "thinking", "thinking": "Use the tool.", "signature": "c2ln"},
                {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}},
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": "18°C"},
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}},
            ],
        },
    ],
}
ANSWER = SimpleNamespace(
    id="msg_1",
    model="claude-haiku-4-5",
    stop_reason="end_turn",
    usage=SimpleNamespace(input_tokens=1, output_tokens=1, cache_read_input_tokens=0, cache_creation_input_tokens=0),
    content=[SimpleNamespace(type="text", text="Rainy, 18°C.")],
)


def one_of_each(otel: Otel, **settings: Any) -> dict[str, dict[str, Any]]:
    """A run with a model call and a failing and a succeeding tool call; attributes by span name."""
    tel = RunTelemetry(agent_name="a", model="m", run_id="r", settings=otel.with_settings(**settings))
    with tel:
        with tel.model_call(PARAMS) as call:
            call.response(ANSWER)
        with tel.tool_call("toolu_1", "get_weather", {"city": "Paris"}) as tool:
            tool.result("18°C", is_error=False)
        with tel.tool_call("toolu_2", "lookup", {"id": "A-1"}) as tool:
            tool.result("Tool 'lookup' failed: KeyError: 'A-1'", is_error=True)
    return {s.name: dict(s.attributes or {}) for s in otel.spans()}


async def test_nothing_is_captured_by_default(otel: Otel, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", raising=False)
    spans = one_of_each(otel)
    assert all(CONTENT_KEYS.isdisjoint(attributes) for attributes in spans.values())
    assert otel.span("execute_tool lookup").status.description is None
    assert "Paris" not in repr(spans)


async def test_capture_content_records_the_conventions_message_shapes(otel: Otel) -> None:
    spans = one_of_each(otel, capture_content=True)
    chat = spans["chat claude-haiku-4-5"]
    assert json.loads(chat["gen_ai.system_instructions"]) == [{"type": "text", "content": "You are terse."}]
    assert json.loads(chat["gen_ai.input.messages"]) == [
        {"role": "user", "parts": [{"type": "text", "content": "Weather in Paris?"}]},
        {
            "role": "assistant",
            "parts": [
                {"type": "reasoning", "content": "Use the tool."},
                {"type": "tool_call", "id": "toolu_1", "name": "get_weather", "arguments": {"city": "Paris"}},
            ],
        },
        {
            "role": "user",
            "parts": [
                {"type": "tool_call_response", "id": "toolu_1", "response": "18°C"},
                {"type": "blob", "modality": "image", "mime_type": "image/png"},  # never the bytes
            ],
        },
    ]
    assert json.loads(chat["gen_ai.output.messages"]) == [
        {"role": "assistant", "parts": [{"type": "text", "content": "Rainy, 18°C."}], "finish_reason": "end_turn"}
    ]
    tool = spans["execute_tool get_weather"]
    assert json.loads(tool["gen_ai.tool.call.arguments"]) == {"city": "Paris"}
    assert tool["gen_ai.tool.call.result"] == "18°C"
    failed = otel.span("execute_tool lookup")
    assert failed.status.status_code is StatusCode.ERROR
    assert failed.status.description == "Tool 'lookup' failed: KeyError: 'A-1'"
    assert "gen_ai.tool.call.result" not in spans["execute_tool lookup"]  # a result only when it succeeded


@pytest.mark.parametrize(
    ("value", "captured"),
    [("true", True), ("SPAN_ONLY", True), ("span_and_event", True), ("EVENT_ONLY", False), ("NO_CONTENT", False)],
)
async def test_the_conventions_environment_variable_turns_capture_on(
    otel: Otel, monkeypatch: pytest.MonkeyPatch, value: str, captured: bool
) -> None:
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", value)
    spans = one_of_each(otel)
    assert ("gen_ai.input.messages" in spans["chat claude-haiku-4-5"]) is captured


async def test_the_setting_wins_over_the_environment(otel: Otel, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true")
    spans = one_of_each(otel, capture_content=False)
    assert all(CONTENT_KEYS.isdisjoint(attributes) for attributes in spans.values())


async def test_content_is_cut_to_the_limit_and_stays_json(otel: Otel) -> None:
    long_history = [{"role": "user", "content": f"message {i}: " + "x" * 500} for i in range(40)]
    tel = RunTelemetry(
        agent_name="a", model="m", run_id="r", settings=otel.with_settings(capture_content=True, max_content_bytes=2048)
    )
    with tel, tel.model_call({"model": "m", "messages": long_history}):
        pass
    attributes = dict(otel.span("chat m").attributes or {})
    text = attributes["gen_ai.input.messages"]
    assert len(text.encode()) <= 2048
    assert json.loads(text)[-1]["parts"][0]["content"].startswith("message 39: ")  # the newest survive
    assert attributes["agentkit.content.truncated"] is True


def test_fit_keeps_short_values_whole_and_cuts_long_ones_validly() -> None:
    assert fit({"a": "b"}, 100) == ('{"a":"b"}', False)
    text, cut = fit([{"type": "text", "content": "é" * 1000}], 200)
    assert cut
    assert len(text.encode()) <= 200
    assert json.loads(text)[0]["content"].endswith("…")
    assert fit("x" * 300, 100)[0] == "x" * 97 + "…"


def test_a_tiny_limit_is_a_configuration_error(otel: Otel) -> None:
    with pytest.raises(ConfigurationError, match="max_content_bytes=10"):
        otel.with_settings(max_content_bytes=10)
