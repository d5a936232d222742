"""Living with the anthropic SDK's own tracing: one span per model call, not two.

anthropic 2.10 traces every API call itself (`anthropic/_tracing.py`): a CLIENT span named
`anthropic.messages.create`, on by default whenever a tracer provider is registered, carrying
`gen_ai.operation.name=chat` and the token usage. Nested under agentkit's `chat {model}` span it
would be a second model-call span for the same call, and GenAI backends would count its tokens
twice. So while agentkit's span records, the run uses a copy of the client with the SDK's spans
off (made once per client), and agentkit's span takes over what only the SDK's had: the request
id, the retry count and the HTTP status. `TelemetrySettings(sdk_spans=True)` keeps the SDK's span
instead, as a child of agentkit's. Nothing here imports `anthropic`.
"""

from __future__ import annotations

from typing import Any
from weakref import WeakKeyDictionary

_untraced: WeakKeyDictionary[Any, Any] = WeakKeyDictionary()


def sdk_traces(client: Any) -> bool:
    """Whether the client would emit its own spans (its public `open_telemetry` option)."""
    options = getattr(client, "open_telemetry", None)
    traces = options.get("traces") if isinstance(options, dict) else None
    return isinstance(traces, dict) and bool(traces.get("enabled"))


def untraced(client: Any) -> Any:
    """The client with the SDK's spans off, sharing its connection pool; cached per client."""
    if not sdk_traces(client):
        return client
    copy = _untraced.get(client)
    if copy is None:
        options = client.open_telemetry
        copy = client.with_options(open_telemetry={**options, "traces": {**options["traces"], "enabled": False}})
        _untraced[client] = copy
    return copy


def conversation_id(client: Any) -> str | None:
    """The `conversation_id` the client's `open_telemetry` option sets, if any."""
    options = getattr(client, "open_telemetry", None)
    value = options.get("conversation_id") if isinstance(options, dict) else None
    return value if isinstance(value, str) else None


def server(client: Any) -> tuple[str, int] | None:
    """`server.address` and `server.port` from the client's base URL."""
    url = getattr(client, "base_url", None)
    host = getattr(url, "host", None)
    if not host:
        return None
    port = getattr(url, "port", None) or (80 if getattr(url, "scheme", "https") == "http" else 443)
    return str(host), int(port)


def propagates(client: Any) -> bool:
    """Whether the client's option asks for trace context on requests (the SDK's default)."""
    options = getattr(client, "open_telemetry", None)
    return not isinstance(options, dict) or options.get("propagation", True) is not False
