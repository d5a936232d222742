"""What tracing costs a run: the span helpers with no provider, and with an SDK recording them.

    .venv/bin/python bench/telemetry.py

A run of 3 model calls and 3 tool calls opens 7 spans; the target for a whole run is <= 1.10x a
hand-written SDK loop (~1-3 ms a run against the loopback server), so the no-provider path has to
stay in the microseconds. Prints microseconds per run-shaped set of spans, best of 5.
"""

from __future__ import annotations

import timeit
from types import SimpleNamespace

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from agentkit import RunResult, Usage
from agentkit.telemetry import RunTelemetry, TelemetrySettings

USAGE = SimpleNamespace(input_tokens=10, output_tokens=5, cache_read_input_tokens=90, cache_creation_input_tokens=0)
ANSWER = SimpleNamespace(id="msg_1", model="claude-haiku-4-5", stop_reason="tool_use", usage=USAGE, content=[])
PARAMS = {"model": "claude-haiku-4-5", "max_tokens": 1024, "messages": []}
RESULT = RunResult("ok", [], Usage(30, 15, 270, requests=3), "end_turn", 3, ANSWER, "r")  # type: ignore[arg-type]


def one_run(settings: TelemetrySettings) -> None:
    """The spans of a run with 3 model calls and 3 tool calls, as the loop opens them."""
    with RunTelemetry(agent_name="bench", model="claude-haiku-4-5", run_id="r", settings=settings) as tel:
        for turn in (1, 2, 3):
            with tel.model_call(PARAMS, turn=turn) as call:
                with call.activated():
                    pass
                call.response(ANSWER)
            if turn < 3:
                with tel.tool_call("toolu_1", "get_weather", {"city": "Paris"}, turn=turn) as tool:
                    tool.result("18°C", is_error=False)
        with tel.tool_call("toolu_2", "get_time", {}, turn=3) as tool:
            tool.result("noon", is_error=False)
        tel.finish(RESULT)


def measure(label: str, settings: TelemetrySettings, spans_per_run: int = 7) -> None:
    runs = 2000
    best = min(timeit.repeat(lambda: one_run(settings), number=runs, repeat=5)) / runs
    print(f"{label:<42} {best * 1e6:8.1f} us/run  {best * 1e6 / spans_per_run:6.2f} us/span")


def main() -> None:
    measure("no provider (the API's no-op default)", TelemetrySettings())
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(InMemorySpanExporter()))
    meter_provider = MeterProvider(metric_readers=[InMemoryMetricReader()])
    recording = TelemetrySettings(tracer_provider=tracer_provider, meter_provider=meter_provider)
    measure("SDK provider, in-memory exporter", recording)
    measure(
        "SDK provider, content captured",
        TelemetrySettings(tracer_provider=tracer_provider, meter_provider=meter_provider, capture_content=True),
    )


if __name__ == "__main__":
    main()
