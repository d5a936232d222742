"""`--trace` for `agentkit run`/`chat`: register an OpenTelemetry SDK so every run is traced.

    --trace console                  spans printed to stderr as each ends (needs opentelemetry-sdk)
    --trace otlp                     exported over OTLP/HTTP to $OTEL_EXPORTER_OTLP_ENDPOINT
    --trace http://localhost:4318    exported over OTLP/HTTP to that collector

The OTLP forms need `pip install opentelemetry-sdk opentelemetry-exporter-otlp-proto-http`.
agentkit itself only uses `opentelemetry-api`; this is what an application would do at start-up.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

import click

__all__ = ["start_tracing"]

_SDK_MISSING = "--trace needs the OpenTelemetry SDK: pip install opentelemetry-sdk"
_OTLP_MISSING = (
    "--trace {target} exports over OTLP/HTTP: pip install opentelemetry-sdk opentelemetry-exporter-otlp-proto-http"
)


def start_tracing(target: str) -> Callable[[], None]:
    """Register a tracer provider exporting to `target`; the function that flushes and stops it.

    Args:
        target: "console", "otlp" (the endpoint from $OTEL_EXPORTER_OTLP_ENDPOINT), or a collector URL.

    Raises:
        click.UsageError: the packages `target` needs are not installed, or it is not a known form.
    """
    try:
        from opentelemetry import trace
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SimpleSpanProcessor
    except ImportError:
        raise click.UsageError(_SDK_MISSING) from None
    provider = TracerProvider(
        resource=Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME", "agentkit")})
    )
    if target == "console":
        provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter(out=sys.stderr)))
    elif target == "otlp" or target.startswith(("http://", "https://")):
        try:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # type: ignore[import-not-found,unused-ignore]
                OTLPSpanExporter,
            )
        except ImportError:
            raise click.UsageError(_OTLP_MISSING.format(target=target)) from None
        if target == "otlp":
            exporter = OTLPSpanExporter()  # reads OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT, else localhost:4318
        else:
            endpoint = target.rstrip("/")
            exporter = OTLPSpanExporter(
                endpoint=endpoint if endpoint.endswith("/v1/traces") else f"{endpoint}/v1/traces"
            )
        provider.add_span_processor(BatchSpanProcessor(exporter))
    else:
        raise click.BadParameter(
            f"{target!r}: give console, otlp, or a collector URL such as http://localhost:4318", param_hint="--trace"
        )
    trace.set_tracer_provider(provider)
    return provider.shutdown
