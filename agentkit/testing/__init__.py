"""An offline Messages API for testing agents: a loopback server, scripted replies and faults.

    from agentkit.testing import MessagesServer, Reply, Fault

    with MessagesServer([Fault.overloaded(), Reply.text("hi")]) as server:
        client = server.sync_client()  # the real SDK, over a real socket
        client.messages.create(model="claude-sonnet-5", max_tokens=100, messages=[...])
        assert server.rejected == []   # every request was one the real API would accept

Names are imported on first use: the pytest plugin (`agentkit.testing.fixtures`) is loaded into
every test session, and importing it must not pull in the server, asyncio or the SDK. Nothing here
imports `anthropic`; `MessagesServer.client()` does, when called.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agentkit.testing._ratelimit import RateLimits
    from agentkit.testing._script import (
        Fault,
        Handler,
        Reply,
        Request,
        redacted_thinking,
        text,
        thinking,
        tool_use,
    )
    from agentkit.testing._server import MessagesServer
    from agentkit.testing._tokens import estimate_tokens
    from agentkit.testing._validate import validate, with_tools

__all__ = [
    "Fault",
    "Handler",
    "MessagesServer",
    "RateLimits",
    "Reply",
    "Request",
    "estimate_tokens",
    "redacted_thinking",
    "text",
    "thinking",
    "tool_use",
    "validate",
    "with_tools",
]

_EXPORTS = {
    "Fault": "_script",
    "Handler": "_script",
    "MessagesServer": "_server",
    "RateLimits": "_ratelimit",
    "Reply": "_script",
    "Request": "_script",
    "estimate_tokens": "_tokens",
    "redacted_thinking": "_script",
    "text": "_script",
    "thinking": "_script",
    "tool_use": "_script",
    "validate": "_validate",
    "with_tools": "_validate",
}


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'agentkit.testing' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"agentkit.testing.{_EXPORTS[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
