"""`TelemetrySettings`: where spans and metrics go, and whether prompts may go with them."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import ConfigurationError

if TYPE_CHECKING:
    from opentelemetry.metrics import MeterProvider
    from opentelemetry.trace import TracerProvider

CAPTURE_ENV = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
# The values of the conventions' variable that put content on spans. `EVENT_ONLY` does not:
# agentkit records content on span attributes only, never as log events.
_CAPTURE_ON = frozenset({"true", "1", "yes", "span_only", "span_and_event"})
DEFAULT_MAX_CONTENT_BYTES = 8 * 1024


@dataclass(frozen=True)
class TelemetrySettings:
    """How a run is traced. The defaults need no code and leak nothing.

    Spans and metrics go to the providers registered with the OpenTelemetry API (with none
    registered they cost well under a microsecond each). `tracer_provider` / `meter_provider`
    send them elsewhere, e.g. to an in-memory exporter in tests.

    Content (system prompt, messages, tool arguments and results) is recorded only when
    `capture_content` is true, or, left at None, when the conventions' environment variable
    `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT` is `true` / `SPAN_ONLY` / `SPAN_AND_EVENT`.
    Each content attribute is cut to `max_content_bytes` of UTF-8, staying valid JSON.

    `sdk_spans=True` keeps the anthropic SDK's own `anthropic.messages.create` span, nested
    under agentkit's `chat {model}` span; by default agentkit's span replaces it (see docs/tracing.md).
    """

    capture_content: bool | None = None
    max_content_bytes: int = DEFAULT_MAX_CONTENT_BYTES
    tracer_provider: TracerProvider | None = None
    meter_provider: MeterProvider | None = None
    sdk_spans: bool = False

    def __post_init__(self) -> None:
        if self.max_content_bytes < 64:
            raise ConfigurationError(
                f"TelemetrySettings(max_content_bytes={self.max_content_bytes}): use at least 64 bytes, "
                "or capture_content=False to record no content"
            )

    def captures_content(self) -> bool:
        """Whether content goes on spans: the setting, else the environment variable (read per run)."""
        if self.capture_content is not None:
            return self.capture_content
        return os.environ.get(CAPTURE_ENV, "").strip().lower() in _CAPTURE_ON


DEFAULT_SETTINGS = TelemetrySettings()
