"""The four histograms, with the conventions' names, units and attributes."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from otel_capture import Otel

from agentkit import RunResult, Usage
from agentkit.errors import APIError
from agentkit.telemetry import RunTelemetry

pytestmark = pytest.mark.anyio

ANSWER = SimpleNamespace(
    id="msg_1",
    model="claude-haiku-4-5-20251001",
    stop_reason="end_turn",
    usage=SimpleNamespace(input_tokens=10, output_tokens=7, cache_read_input_tokens=90, cache_creation_input_tokens=5),
    content=[],
)
CHAT = {
    "gen_ai.operation.name": "chat",
    "gen_ai.provider.name": "anthropic",
    "gen_ai.request.model": "claude-haiku-4-5",
}


async def test_token_usage_counts_cached_input_and_output_per_call(otel: Otel) -> None:
    tel = RunTelemetry(agent_name="weather", model="claude-haiku-4-5", run_id="r", settings=otel.settings)
    with tel:
        with tel.model_call({"model": "claude-haiku-4-5"}) as call:
            call.response(ANSWER)
        usage = Usage(input_tokens=10, output_tokens=7, cache_read_tokens=90, cache_write_tokens=5, requests=1)
        tel.finish(RunResult("", [], usage, "end_turn", 1, ANSWER, "r"))  # type: ignore[arg-type]

    tokens = {attrs["gen_ai.token.type"]: (attrs, point) for attrs, point in otel.points("gen_ai.client.token.usage")}
    answered = {**CHAT, "gen_ai.response.model": "claude-haiku-4-5-20251001"}
    assert tokens["input"][0] == {**answered, "gen_ai.token.type": "input"}
    assert (tokens["input"][1].sum, tokens["output"][1].sum) == (105, 7)  # input includes the 95 cached
    ((attrs, point),) = otel.points("gen_ai.client.operation.duration")
    assert attrs == answered
    assert point.count == 1
    ((attrs, point),) = otel.points("gen_ai.invoke_agent.duration")
    assert attrs == {"gen_ai.agent.name": "weather", "gen_ai.request.model": "claude-haiku-4-5"}
    assert point.sum >= 0


def failing_run(tel: RunTelemetry) -> None:
    with tel:
        with tel.tool_call("toolu_1", "get_weather", {}) as tool:
            tool.result("no such city", is_error=True)
        with tel.tool_call("toolu_2", "get_weather", {}) as tool:
            tool.result("18°C", is_error=False)
        with tel.model_call({"model": "claude-haiku-4-5"}):
            raise APIError("failed", status_code=429, error_type="rate_limit_error")


async def test_failures_carry_error_type(otel: Otel) -> None:
    tel = RunTelemetry(agent_name="weather", model="claude-haiku-4-5", run_id="r", settings=otel.settings)
    with pytest.raises(APIError):
        failing_run(tel)

    tools = sorted(
        (attrs.get("error.type", ""), point.count) for attrs, point in otel.points("gen_ai.execute_tool.duration")
    )
    assert tools == [("", 1), ("tool_error", 1)]
    ((attrs, _),) = [p for p in otel.points("gen_ai.execute_tool.duration") if "error.type" in p[0]]
    assert attrs == {
        "gen_ai.tool.name": "get_weather",
        "gen_ai.tool.type": "function",
        "gen_ai.agent.name": "weather",
        "error.type": "tool_error",
    }
    ((attrs, _),) = otel.points("gen_ai.client.operation.duration")
    assert attrs == {**CHAT, "error.type": "rate_limit_error"}
    assert otel.points("gen_ai.client.token.usage") == []  # no response, no usage
    ((attrs, _),) = otel.points("gen_ai.invoke_agent.duration")
    assert attrs["error.type"] == "rate_limit_error"
