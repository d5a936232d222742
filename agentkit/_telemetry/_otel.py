"""The tracer and the four histograms, made once per provider and reused by every run.

Through `opentelemetry-api` only. With no provider given they come from the API's global proxy
providers: no-ops until an application registers an SDK, then forwarding to it, so instruments
made before `set_tracer_provider` still report.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from weakref import WeakKeyDictionary

from opentelemetry import metrics, trace

from .. import __version__

if TYPE_CHECKING:
    from opentelemetry.metrics import Histogram, MeterProvider
    from opentelemetry.trace import Tracer, TracerProvider

SCOPE = "agentkit"

# Bucket boundaries the conventions advise for each histogram.
_TOKEN_BUCKETS = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864]
_CALL_BUCKETS = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92]
_AGENT_BUCKETS = [0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 12.8, 25.6, 51.2, 102.4, 204.8, 409.6]


@dataclass(frozen=True)
class Instruments:
    token_usage: Histogram  # gen_ai.client.token.usage
    operation_duration: Histogram  # gen_ai.client.operation.duration
    tool_duration: Histogram  # gen_ai.execute_tool.duration
    agent_duration: Histogram  # gen_ai.invoke_agent.duration


# Keyed weakly by provider (a test makes one per test); the global proxies under `_GLOBAL`.
class _Global:
    """Stands for "the global provider" as a weak-referenceable key."""


_GLOBAL = _Global()
_tracers: WeakKeyDictionary[Any, Tracer] = WeakKeyDictionary()
_instruments: WeakKeyDictionary[Any, Instruments] = WeakKeyDictionary()


def tracer(provider: TracerProvider | None) -> Tracer:
    key = _GLOBAL if provider is None else provider
    found = _tracers.get(key)
    if found is None:
        found = _tracers[key] = trace.get_tracer(SCOPE, __version__, tracer_provider=provider)
    return found


def metered(provider: MeterProvider | None) -> bool:
    """Whether metrics recorded now go anywhere: a provider given, or a global one registered (until
    then the global is the API's proxy, whose instruments drop what they are given)."""
    if provider is not None:
        return True
    return type(metrics.get_meter_provider()).__name__ != "_ProxyMeterProvider"


def instruments(provider: MeterProvider | None) -> Instruments:
    key = _GLOBAL if provider is None else provider
    found = _instruments.get(key)
    if found is None:
        meter = metrics.get_meter(SCOPE, __version__, meter_provider=provider)
        found = _instruments[key] = Instruments(
            token_usage=meter.create_histogram(
                "gen_ai.client.token.usage",
                unit="{token}",
                description="Number of input and output tokens used.",
                explicit_bucket_boundaries_advisory=_TOKEN_BUCKETS,
            ),
            operation_duration=meter.create_histogram(
                "gen_ai.client.operation.duration",
                unit="s",
                description="GenAI operation duration.",
                explicit_bucket_boundaries_advisory=_CALL_BUCKETS,
            ),
            tool_duration=meter.create_histogram(
                "gen_ai.execute_tool.duration",
                unit="s",
                description="The duration of a single tool execution.",
                explicit_bucket_boundaries_advisory=_CALL_BUCKETS,
            ),
            agent_duration=meter.create_histogram(
                "gen_ai.invoke_agent.duration",
                unit="s",
                description="The end-to-end duration of a single agent invocation.",
                explicit_bucket_boundaries_advisory=_AGENT_BUCKETS,
            ),
        )
    return found
