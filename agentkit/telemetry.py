"""OpenTelemetry spans and metrics per the GenAI semantic conventions, and structlog events.

A run is one `invoke_agent {agent}` span; each request to the model (continuations included) a
`chat {model}` child; each tool call an `execute_tool {tool}` child, in order. Metrics:
`gen_ai.client.token.usage`, `gen_ai.client.operation.duration`, `gen_ai.execute_tool.duration`,
`gen_ai.invoke_agent.duration`. Content (prompts, answers, tool arguments and results) is recorded
only when asked for. Everything goes through `opentelemetry-api`: with no SDK registered it costs
next to nothing, and an application that registers one sees every run without further code.

    from agentkit.telemetry import TelemetrySettings, configure_logging

    configure_logging()                                   # structlog: pretty on a tty, JSON otherwise
    agent = Agent(..., telemetry=TelemetrySettings(capture_content=True))

Names load on first use, so importing this module does not import OpenTelemetry or structlog.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._telemetry._content import fit
    from ._telemetry._logging import add_trace_context, configure_logging
    from ._telemetry._settings import TelemetrySettings
    from ._telemetry._spans import ModelCall, RunTelemetry, ToolCallRecorder, error_type

__all__ = [
    "ModelCall",
    "RunTelemetry",
    "TelemetrySettings",
    "ToolCallRecorder",
    "add_trace_context",
    "configure_logging",
    "error_type",
    "fit",
]

_EXPORTS = {
    "ModelCall": "_spans",
    "RunTelemetry": "_spans",
    "TelemetrySettings": "_settings",
    "ToolCallRecorder": "_spans",
    "add_trace_context": "_logging",
    "configure_logging": "_logging",
    "error_type": "_spans",
    "fit": "_content",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'agentkit.telemetry' has no attribute {name!r}")
    value = getattr(import_module(f"agentkit._telemetry.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
