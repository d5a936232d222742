"""A traced workflow: a trip planner that asks the weather agent (an agent used as a tool), as one
trace tree of OpenTelemetry spans, with metrics and structlog events.

Run it: `python examples/tracing.py` (offline without ANTHROPIC_API_KEY). The agents need no
tracing code: registering an OpenTelemetry SDK is enough. Spans print as a tree when the run ends;
with OTEL_EXPORTER_OTLP_ENDPOINT set (e.g. http://localhost:4318) they and the metrics also go to
that collector (`pip install opentelemetry-exporter-otlp`). Set
OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true to record prompts and answers too.
"""

from __future__ import annotations

import datetime
import os
import sys
from collections.abc import Sequence
from typing import Any

import anyio
from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricReader, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)

from agentkit import Agent
from agentkit.telemetry import configure_logging
from agentkit.testing import Reply, Request, tool_use

try:
    from _runner import model_client
    from weather import scripted_model as weather_model
    from weather import weather_agent
except ImportError:  # imported as examples.tracing
    from examples._runner import model_client
    from examples.weather import scripted_model as weather_model
    from examples.weather import weather_agent

PLANNER = "You plan trips. Ask the weather agent before you advise on what to pack."

SHOWN = ("gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens", "gen_ai.response.finish_reasons", "error.type")


class TreePrinter(SpanExporter):
    """Collects finished spans and prints them as an indented tree, a line each, at shutdown.

    (`opentelemetry.sdk.trace.export.ConsoleSpanExporter` prints every span as JSON instead.)
    """

    def __init__(self) -> None:
        self.spans: list[ReadableSpan] = []

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.spans += spans
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        print("\n=== spans ===")
        if not self.spans:
            print("  (no spans recorded)")
        ids = {s.context.span_id for s in self.spans}
        roots = [s for s in self.spans if s.parent is None or s.parent.span_id not in ids]
        for root in sorted(roots, key=lambda s: s.start_time or 0):
            self._print(root, 1)

    def _print(self, span: ReadableSpan, depth: int) -> None:
        took = ((span.end_time or 0) - (span.start_time or 0)) / 1e6
        attributes = span.attributes or {}
        shown = " ".join(f"{k.rsplit('.', 1)[-1]}={attributes[k]}" for k in SHOWN if k in attributes)
        print(f"{'  ' * depth}{span.name:<{44 - 2 * depth}} {span.kind.name:<8} {took:7.1f} ms  {shown}")
        children = [s for s in self.spans if s.parent and s.parent.span_id == span.context.span_id]
        for child in sorted(children, key=lambda s: s.start_time or 0):
            self._print(child, depth + 1)


def otlp_exporters() -> tuple[SpanExporter, Any] | None:
    """OTLP span and metric exporters when an endpoint is configured; imported only then."""
    if not os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        return None
    grpc = os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf") == "grpc"
    try:
        if grpc:
            from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
        else:
            from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    except ImportError:
        package = "opentelemetry-exporter-otlp-proto-" + ("grpc" if grpc else "http")
        sys.exit(
            f"OTEL_EXPORTER_OTLP_ENDPOINT is set, but the OTLP exporter is not installed: "
            f"pip install {package}  (or unset OTEL_EXPORTER_OTLP_ENDPOINT for console output only)"
        )
    return OTLPSpanExporter(), OTLPMetricExporter()  # both read the OTEL_EXPORTER_OTLP_* variables


def set_up_opentelemetry() -> tuple[TracerProvider, MeterProvider]:
    """What an application does once at start-up; agentkit then reports to these providers."""
    otlp = otlp_exporters()
    resource = Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME", "agentkit-example")})
    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(SimpleSpanProcessor(TreePrinter()))
    readers: list[MetricReader] = []
    if otlp is not None:
        tracer_provider.add_span_processor(BatchSpanProcessor(otlp[0]))
        readers.append(PeriodicExportingMetricReader(otlp[1]))
        print(f"also exporting to {os.environ['OTEL_EXPORTER_OTLP_ENDPOINT']}", file=sys.stderr)
    meter_provider = MeterProvider(resource=resource, metric_readers=readers)
    trace.set_tracer_provider(tracer_provider)
    metrics.set_meter_provider(meter_provider)
    return tracer_provider, meter_provider


def planner_agent(weather: Agent) -> Agent:
    """The trip planner: its one tool is the weather agent itself."""
    ask_weather = weather.as_tool(description="Ask the weather agent about the current weather in cities.")
    return Agent(name="trip_planner", model="claude-sonnet-4-6", system=PLANNER, tools=[ask_weather])


def scripted_model(request: Request) -> Reply:
    """Offline stand-in for Claude, playing both agents (told apart by their system prompts)."""
    if request.system != PLANNER:
        return weather_model(request)
    if not request.tool_results:
        return Reply(content=[tool_use("weather", {"prompt": "What's the weather in Paris and Oslo?"})])
    return Reply.text(f"Pack for this weather: {request.tool_results[0]['content']}")


async def main() -> None:
    tracer_provider, meter_provider = set_up_opentelemetry()
    configure_logging()  # structlog events with trace and span ids, on stderr
    tracer = trace.get_tracer("trip-service")
    try:
        with model_client(scripted_model) as client:
            weather = weather_agent()
            planner = planner_agent(weather)
            # The application's own span: the planner's run, and the weather agent's inside it, are its children.
            with (
                weather.override(client=client, vars={"today": datetime.date.today()}),
                planner.override(client=client),
                tracer.start_as_current_span("POST /trips"),
            ):
                result = await planner.run("I'm off to Paris, then Oslo. What should I pack?")
            print(f"output: {result.output!r}")
    finally:
        tracer_provider.shutdown()  # flushes: the tree prints here
        meter_provider.shutdown()


if __name__ == "__main__":
    anyio.run(main)
