"""structlog: run events carry agent, run id, turn and the ids of their span; the app configures."""

from __future__ import annotations

import io
import json
import logging
from types import SimpleNamespace
from typing import Any

import pytest
import structlog
from otel_capture import Otel
from structlog.testing import capture_logs

from agentkit import RunResult, Usage
from agentkit.telemetry import RunTelemetry, add_trace_context, configure_logging

pytestmark = pytest.mark.anyio

ANSWER = SimpleNamespace(
    id="msg_1",
    model="m",
    stop_reason="end_turn",
    usage=SimpleNamespace(input_tokens=3, output_tokens=2, cache_read_input_tokens=0, cache_creation_input_tokens=0),
    content=[],
)


def a_run(otel: Otel, tool: Any = None) -> RunTelemetry:
    tel = RunTelemetry(agent_name="weather", model="m", run_id="run_42", settings=otel.settings)
    with tel:
        with tel.model_call({"model": "m"}, turn=1) as call:
            call.response(ANSWER)
        with tel.tool_call("toolu_1", "get_weather", {"city": "Paris"}, turn=1) as recorder:
            if tool:
                tool()
            recorder.result("18°C", is_error=False)
        tel.finish(RunResult("ok", [], Usage(3, 2, requests=1), "end_turn", 2, ANSWER, "run_42"))  # type: ignore[arg-type]
    return tel


def ids(otel: Otel, name: str) -> dict[str, str]:
    context = otel.span(name).context
    return {"trace_id": f"{context.trace_id:032x}", "span_id": f"{context.span_id:016x}"}


async def test_every_run_event_carries_agent_run_turn_and_its_spans_ids(otel: Otel) -> None:
    with capture_logs() as logs:
        a_run(otel)
    assert [e["event"] for e in logs] == ["run_started", "model_call", "tool_call", "run_finished"]
    for event in logs:
        assert (event["agent"], event["run_id"]) == ("weather", "run_42")
        assert "turn" in event
    run_ids, chat_ids, tool_ids = (
        ids(otel, "invoke_agent weather"),
        ids(otel, "chat m"),
        ids(otel, "execute_tool get_weather"),
    )
    started, model_call, tool_call, finished = logs
    assert started.items() >= {**run_ids, "turn": 0, "log_level": "debug"}.items()
    assert model_call.items() >= {**chat_ids, "turn": 1, "input_tokens": 3, "output_tokens": 2}.items()
    assert tool_call.items() >= {**tool_ids, "turn": 1, "tool": "get_weather"}.items()
    assert finished.items() >= {**run_ids, "turn": 2, "stop_reason": "end_turn", "log_level": "info"}.items()


async def test_a_tools_own_events_carry_the_run_and_the_tools_span(otel: Otel) -> None:
    def tool() -> None:
        structlog.get_logger("my_app").info("geocoding", city="Paris")

    with capture_logs(processors=[structlog.contextvars.merge_contextvars, add_trace_context]) as logs:
        a_run(otel, tool)
    (event,) = [e for e in logs if e["event"] == "geocoding"]
    expected = {"agent": "weather", "run_id": "run_42", "turn": 1, "tool": "get_weather", "city": "Paris"}
    assert event.items() >= {**expected, **ids(otel, "execute_tool get_weather")}.items()
    assert structlog.contextvars.get_contextvars() == {}  # unbound when the tool returned


async def test_an_unconfigured_application_gets_no_output(otel: Otel, capsys: pytest.CaptureFixture[str]) -> None:
    a_run(otel)
    assert capsys.readouterr() == ("", "")


async def test_configure_logging_writes_json_lines_off_a_terminal(otel: Otel) -> None:
    out = io.StringIO()
    configure_logging(stream=out, level="DEBUG")
    a_run(otel)
    logging.getLogger("anthropic._base_client").info("Retrying request to /v1/messages in 0.5 seconds")
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [line["event"] for line in lines] == [
        "run_started",
        "model_call",
        "tool_call",
        "run_finished",
        "Retrying request to /v1/messages in 0.5 seconds",
    ]
    assert lines[0].items() >= {"agent": "weather", "run_id": "run_42", **ids(otel, "invoke_agent weather")}.items()
    assert {"timestamp", "level"} <= lines[-1].keys()


async def test_configure_logging_is_pretty_when_asked_and_filters_by_level(otel: Otel) -> None:
    out = io.StringIO()
    configure_logging(json=False, stream=out)  # INFO: the debug events are left out
    a_run(otel)
    (line,) = out.getvalue().splitlines()
    assert "run_finished" in line
    assert "run_id=run_42" in line
    with pytest.raises(ValueError, match="not a logging level"):
        configure_logging(level="LOUD")
