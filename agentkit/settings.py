"""`AgentSettings`: every setting of an agent, declared once.

Class attributes on an `Agent` subclass and keywords to its constructor both fill one frozen
`AgentSettings`; keywords win, and an explicit `None` sets `None` (only a missing keyword means
"not given"). The YAML spec (`agentkit.spec.AgentSpec`), the constructor's keywords
(`AgentOptions`) and the settings table of docs/agents.md are checked against these fields by
the test suite, so the five places a setting used to live cannot drift apart.

Nothing here imports the SDK.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal, TypeAlias, TypedDict

from .errors import ConfigurationError

if TYPE_CHECKING:
    import anthropic

    from ._telemetry._settings import TelemetrySettings
    from .memory import MemoryStrategy
    from .output import OutputMode
    from .result import ToolCallReady
    from .sessions import SessionStore
    from .tools import Tool, Toolset
    from .usage import UsageLimits

__all__ = [
    "UNSET",
    "AgentOptions",
    "AgentSettings",
    "CacheMode",
    "CacheTTL",
    "Pinned",
    "ToolLike",
    "Unset",
]

CacheMode: TypeAlias = Literal["auto", "off"]
"""`"auto"`: agentkit places cache breakpoints; `"off"`: none are added (yours are kept)."""
CacheTTL: TypeAlias = Literal["5m", "1h"]
"""The lifetime of the cache entries agentkit's breakpoints write."""
Pinned: TypeAlias = "Callable[[int, Mapping[str, Any]], bool] | Collection[int] | None"
"""Messages memory trimming never leaves out: a predicate on (index, message), or message indexes."""
ToolLike: TypeAlias = "Tool | Toolset | Callable[..., Any]"
"""What `tools=` takes: a function, a `Tool`, or a toolset such as an MCP server."""


class Unset:
    """The type of `UNSET`: "not given", distinct from `None`, which is a value."""

    _instance: Unset | None = None

    def __new__(cls) -> Unset:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNSET"

    def __bool__(self) -> bool:
        return False


UNSET: Final = Unset()


@dataclass(frozen=True, kw_only=True)
class AgentSettings:
    """Every setting of an agent. Build agents with keywords or class attributes, not this directly."""

    model: str = ""
    """The model id, for example `"claude-sonnet-4-6"` (required)."""
    name: str = ""
    """The agent's name in errors, traces and `as_tool()`; the class name when empty."""
    description: str = ""
    """What the agent does; the tool description when it is used through `as_tool()`."""
    system: str | None = None
    """The system prompt: a Jinja template rendered with `vars` (strict undefined variables)."""
    system_file: str | Path | None = None
    """A Jinja template file for the system prompt; a class's resolves against its module's folder."""
    vars: Mapping[str, Any] = field(default_factory=dict)
    """Default template variables; `run(vars=...)` overrides them per run."""
    tools: Sequence[ToolLike] = ()
    """Functions, `Tool`s and toolsets; a subclass's `@tool` methods are added to them."""
    max_tokens: int = 4096
    """The cap on each response; an answer cut there is continued (`max_continuations`)."""
    max_turns: int = 10
    """Model turns per run before `MaxTurnsExceeded`."""
    output_type: Any = None
    """Typed output: the final answer validated into this type (a pydantic model, `list[int]`...)."""
    output_mode: OutputMode = "tool"
    """How typed output is asked for: a forced output tool, or native JSON (`output_config.format`)."""
    output_retries: int = 2
    """Answers that fail validation sent back with their errors before `OutputValidationError`."""
    thinking: Mapping[str, Any] | None = None
    """The API's thinking config, e.g. `{"type": "adaptive"}`; also read from `request_params`."""
    temperature: float | None = None
    """Sent when set (through `extra_body`: the SDK no longer names it)."""
    top_p: float | None = None
    """Sent when set (through `extra_body`)."""
    stop_sequences: Sequence[str] | None = None
    """Strings that end the answer (not whitespace only)."""
    max_continuations: int = 3
    """Continuations of an answer cut at `max_tokens` before `MaxTokensReached`."""
    request_params: Mapping[str, Any] = field(default_factory=dict)
    """Any other Messages API field, sent as is (`metadata`, `service_tier`, `output_config`...)."""
    memory_budget: int | None = None
    """The token budget of each request's prompt; the history is trimmed to fit (whole turns)."""
    memory: str | MemoryStrategy = "drop_oldest"
    """How the history is kept under the budget: a strategy name or instance (see docs/memory.md)."""
    keep_first: bool = False
    """Never trim the conversation's first prompt."""
    pinned: Pinned = None
    """Messages trimming never leaves out."""
    cache: CacheMode = "auto"
    """Prompt caching: breakpoints placed automatically, or none added."""
    cache_ttl: CacheTTL = "5m"
    """The lifetime of the cache entries agentkit writes."""
    usage_limits: UsageLimits | None = None
    """Limits on requests, tokens and cost per run, checked before every request."""
    approval: Callable[[ToolCallReady], bool] | None = None
    """A policy over every tool call (MCP tools included): True when the call needs a human's approval."""
    pacing: bool = True
    """Pace requests from the API's rate-limit headers, shared per client and model."""
    session_store: SessionStore | None = None
    """Where `run(session=...)` keeps sessions; a SQLite file in the user's state folder by default."""
    telemetry: TelemetrySettings | None = None
    """Where spans and metrics go; no-op without an OpenTelemetry SDK."""
    capture_content: bool | None = None
    """Record prompts and answers on spans (overrides `telemetry.capture_content`)."""
    client: anthropic.AsyncAnthropic | None = None
    """The client to use; one is made per run (or per `async with agent:`) and closed by agentkit."""

    def __post_init__(self) -> None:
        label = f"Agent {self.name!r}" if self.name else "Agent"
        if not self.model:
            raise ConfigurationError(f"{label} has no model; pass model= or set `model` on the class")
        for name in ("max_turns", "max_tokens"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigurationError(f"{label}: {name} must be an integer of at least 1, not {value!r}")
        for name in ("output_retries", "max_continuations"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ConfigurationError(f"{label}: {name} must be an integer of at least 0, not {value!r}")
        if self.output_mode not in ("tool", "native"):
            raise ConfigurationError(f"{label}: output_mode must be 'tool' or 'native', not {self.output_mode!r}")
        if self.cache not in ("auto", "off") or self.cache_ttl not in ("5m", "1h"):
            raise ConfigurationError(f"{label}: cache must be 'auto' or 'off', cache_ttl '5m' or '1h'")
        if self.memory_budget is not None and (
            isinstance(self.memory_budget, bool) or not isinstance(self.memory_budget, int) or self.memory_budget < 1
        ):
            raise ConfigurationError(f"{label}: memory_budget must be a positive number of tokens")
        if self.system is not None and self.system_file is not None:
            raise ConfigurationError(f"{label}: pass system= or system_file=, not both")
        for name in ("temperature", "top_p"):
            value = getattr(self, name)
            if value is not None and not (isinstance(value, (int, float)) and math.isfinite(value)):
                raise ConfigurationError(f"{label}: {name} must be a number, not {value!r}")
        if self.stop_sequences is not None and (
            isinstance(self.stop_sequences, str) or not all(isinstance(s, str) for s in self.stop_sequences)
        ):
            raise ConfigurationError(f"{label}: stop_sequences must be a list of strings")
        if not isinstance(self.request_params, Mapping):
            raise ConfigurationError(f"{label}: request_params must be a mapping of Messages API fields")
        _check_api_rules(label, self)

    def check_request(self) -> None:
        """Raise `ConfigurationError` for a combination of settings the API refuses in a request
        (temperature or top_p with thinking on); a run calls it before its first request."""
        _check_api_rules(f"Agent {self.name!r}", self, at_run=True)

    @property
    def effective_thinking(self) -> Mapping[str, Any] | None:
        """The thinking config the request will carry, from `thinking` or `request_params`."""
        given = self.request_params.get("thinking", self.thinking)
        if isinstance(given, Mapping) and given.get("type") in ("enabled", "adaptive"):
            return given
        return None

    def replace(self, **changes: Any) -> AgentSettings:
        """A copy with `changes` (validated again); `UNSET` values are ignored."""
        given = {k: v for k, v in changes.items() if v is not UNSET}
        return dataclasses.replace(self, **given) if given else self


# Problems of a combination a later setting may undo (`Sub(thinking=None)`): checked when a run
# starts (`check_request`), not when the agent is built.
_AT_RUN = ("temperature", "top_p")


def _check_api_rules(label: str, settings: AgentSettings, *, at_run: bool = False) -> None:
    """What the API would refuse with a 400 (`agentkit._api_rules`), as an error before any request."""
    from ._api_rules import api_problems

    given = {
        "max_tokens": settings.max_tokens,
        "stop_sequences": list(settings.stop_sequences or ()),
        "thinking": dict(settings.thinking) if isinstance(settings.thinking, Mapping) else settings.thinking,
        "temperature": settings.temperature,
        "top_p": settings.top_p,
        "request_params": dict(settings.request_params),
    }
    for where, message in api_problems(given):
        if (where[0] in _AT_RUN) != at_run:
            continue
        place = ".".join(str(part) for part in where)
        raise ConfigurationError(f"{label}: {place}: {message}")


class AgentOptions(TypedDict, total=False):
    """The keywords `Agent(...)` takes: the fields of `AgentSettings` (a test pins the two equal)."""

    model: str
    name: str
    description: str
    system: str | None
    system_file: str | Path | None
    vars: Mapping[str, Any]
    tools: Sequence[ToolLike]
    max_tokens: int
    max_turns: int
    output_mode: OutputMode
    output_retries: int
    thinking: Mapping[str, Any] | None
    temperature: float | None
    top_p: float | None
    stop_sequences: Sequence[str] | None
    max_continuations: int
    request_params: Mapping[str, Any]
    memory_budget: int | None
    memory: str | MemoryStrategy
    keep_first: bool
    pinned: Pinned
    cache: CacheMode
    cache_ttl: CacheTTL
    usage_limits: UsageLimits | None
    approval: Callable[[ToolCallReady], bool] | None
    pacing: bool
    session_store: SessionStore | None
    telemetry: TelemetrySettings | None
    capture_content: bool | None
    client: anthropic.AsyncAnthropic | None


SETTING_NAMES: Final = frozenset(f.name for f in dataclasses.fields(AgentSettings))
