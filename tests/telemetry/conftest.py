"""Fixtures: an in-memory tracer provider and metric reader per test, passed explicitly.

Nothing here touches the global OpenTelemetry providers (which can be set once per process):
every test hands its providers to agentkit through `TelemetrySettings`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
import structlog
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from otel_capture import Otel


@pytest.fixture
def otel() -> Iterator[Otel]:
    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    yield Otel(tracer_provider, meter_provider, exporter, reader)
    tracer_provider.shutdown()
    meter_provider.shutdown()


@pytest.fixture(autouse=True)
def _unconfigured_logging() -> Iterator[None]:
    """Each test starts and ends with structlog unconfigured and no handler of configure_logging."""
    structlog.reset_defaults()
    yield
    structlog.reset_defaults()
    root = logging.getLogger()
    for handler in [h for h in root.handlers if h.get_name() == "agentkit.configure_logging"]:
        root.removeHandler(handler)
    root.setLevel(logging.WARNING)
    logging.getLogger("httpx2").setLevel(logging.NOTSET)
