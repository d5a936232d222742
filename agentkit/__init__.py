"""agentkit: agents on Anthropic's Messages API, with the loop and the discipline around it.

Public names load on first access, so `import agentkit` costs almost nothing and the
`anthropic` SDK (over a second to import) loads only when the first request is made.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .agent import Agent
    from .errors import (
        AgentkitError,
        APIError,
        ConfigurationError,
        ContextWindowExceeded,
        InputError,
        MaxTokensReached,
        MaxTurnsExceeded,
        MemoryBudgetExceeded,
        OutputValidationError,
        PromptError,
        Refused,
        RunError,
        SessionBusy,
        SpecError,
        ToolDefinitionError,
        ToolError,
        UsageLimitExceeded,
    )
    from .hooks import Approval, RunHooks
    from .memory import MemoryStrategy
    from .output import OutputAttempt
    from .result import (
        ContextStats,
        ModelCallStarted,
        Retrying,
        RunEvent,
        RunFinished,
        RunResult,
        RunStream,
        TextDelta,
        ThinkingDelta,
        ToolCallFinished,
        ToolCallReady,
        ToolCallStarted,
        TurnFinished,
    )
    from .sessions import SessionStore, SQLiteSessionStore
    from .settings import UNSET, AgentSettings, CacheMode, CacheTTL, Pinned
    from .spec import load_agent
    from .tools import RunContext, Tool, ToolResult, Toolset, tool
    from .usage import Price, Usage, UsageLimits

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    "APIError": "errors",
    "Agent": "agent",
    "AgentSettings": "settings",
    "AgentkitError": "errors",
    "Approval": "hooks",
    "CacheMode": "settings",
    "CacheTTL": "settings",
    "ConfigurationError": "errors",
    "ContextStats": "result",
    "ContextWindowExceeded": "errors",
    "InputError": "errors",
    "MaxTokensReached": "errors",
    "MaxTurnsExceeded": "errors",
    "MemoryBudgetExceeded": "errors",
    "MemoryStrategy": "memory",
    "ModelCallStarted": "result",
    "OutputAttempt": "output",
    "OutputValidationError": "errors",
    "Pinned": "settings",
    "Price": "usage",
    "PromptError": "errors",
    "Refused": "errors",
    "Retrying": "result",
    "RunContext": "tools",
    "RunError": "errors",
    "RunEvent": "result",
    "RunFinished": "result",
    "RunHooks": "hooks",
    "RunResult": "result",
    "RunStream": "result",
    "SQLiteSessionStore": "sessions",
    "SessionBusy": "errors",
    "SessionStore": "sessions",
    "SpecError": "errors",
    "TextDelta": "result",
    "ThinkingDelta": "result",
    "Tool": "tools",
    "ToolCallFinished": "result",
    "ToolCallReady": "result",
    "ToolCallStarted": "result",
    "ToolDefinitionError": "errors",
    "ToolError": "errors",
    "ToolResult": "tools",
    "Toolset": "tools",
    "TurnFinished": "result",
    "UNSET": "settings",
    "Usage": "usage",
    "UsageLimitExceeded": "errors",
    "UsageLimits": "usage",
    "load_agent": "spec",
    "tool": "tools",
}

__all__ = [
    "APIError",
    "Agent",
    "AgentSettings",
    "AgentkitError",
    "Approval",
    "CacheMode",
    "CacheTTL",
    "ConfigurationError",
    "ContextStats",
    "ContextWindowExceeded",
    "InputError",
    "MaxTokensReached",
    "MaxTurnsExceeded",
    "MemoryBudgetExceeded",
    "MemoryStrategy",
    "ModelCallStarted",
    "OutputAttempt",
    "OutputValidationError",
    "Pinned",
    "Price",
    "PromptError",
    "Refused",
    "Retrying",
    "RunContext",
    "RunError",
    "RunEvent",
    "RunFinished",
    "RunHooks",
    "RunResult",
    "RunStream",
    "SQLiteSessionStore",
    "SessionBusy",
    "SessionStore",
    "SpecError",
    "TextDelta",
    "ThinkingDelta",
    "Tool",
    "ToolCallFinished",
    "ToolCallReady",
    "ToolCallStarted",
    "ToolDefinitionError",
    "ToolError",
    "ToolResult",
    "Toolset",
    "TurnFinished",
    "UNSET",
    "Usage",
    "UsageLimitExceeded",
    "UsageLimits",
    "load_agent",
    "tool",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'agentkit' has no attribute {name!r}")
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
