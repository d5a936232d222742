"""`Agent`: the configuration of an agent, and the entry points that run it.

An agent is configured two ways that give the same object: class attributes on a subclass
(defaults; subclasses inherit them and add `@tool` methods) or keywords to the constructor
(which override the class's). Running it is the pipeline's job (`agentkit._pipeline`).
"""

from __future__ import annotations

import dataclasses
import inspect
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractAsyncContextManager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar, cast

import anyio

from ._running import begin_run, blocking_stream, refuse_running_loop, result_of, streaming
from .errors import ConfigurationError, ToolDefinitionError, ToolError
from .memory import MemoryStrategy, resolve_memory
from .output import OutputMode, OutputSpec
from .prompts import SystemPrompt
from .result import RunEvent, RunResult, RunStream
from .tools import RunContext, Tool

if TYPE_CHECKING:
    import anthropic
    from anthropic.types import MessageParam

    from ._pipeline import RunInput
    from ._pipeline.cache import CacheMode, CacheTTL
    from ._pipeline.trim import Pinned
    from .sessions import SessionStore
    from .telemetry import TelemetrySettings
    from .usage import UsageLimits

T = TypeVar("T")
ToolLike = Tool | Callable[..., Any]
Prompt = str | Sequence[dict[str, Any]]


class Agent:
    """An agent: a model, a system prompt, tools, and the loop that runs them.

    ```python
    class Support(Agent):
        model = "claude-sonnet-4-6"
        system = "You help customers of {{ shop }}."

        @tool
        def order_status(self, order_id: str) -> str:
            \"\"\"Look up an order.\"\"\"
            ...
    ```
    """

    model: str = ""
    system: str = ""
    system_file: str | Path | None = None
    tools: Sequence[ToolLike] = ()
    max_tokens: int = 4096
    max_turns: int = 10
    name: str = ""
    description: str = ""
    vars: dict[str, Any] = {}  # noqa: RUF012 - read-only defaults, copied per run
    output_type: Any = None
    output_mode: OutputMode = "tool"
    output_retries: int = 2
    thinking: dict[str, Any] | None = None
    temperature: float | None = None
    top_p: float | None = None
    stop_sequences: list[str] | None = None
    max_continuations: int = 3
    request_params: dict[str, Any] = {}  # noqa: RUF012 - read-only defaults, copied per run
    memory_budget: int | None = None
    memory: str | MemoryStrategy = "drop_oldest"
    keep_first: bool = False
    pinned: Pinned = None
    cache: CacheMode = "auto"
    cache_ttl: CacheTTL = "5m"
    usage_limits: UsageLimits | None = None
    session_store: SessionStore | None = None
    telemetry: TelemetrySettings | None = None
    client: anthropic.AsyncAnthropic | None = None

    _method_tools: ClassVar[dict[str, Tool]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        inherited = {
            name: t for base in reversed(cls.__mro__[1:]) for name, t in vars(base).items() if isinstance(t, Tool)
        }
        own = {name: t for name, t in vars(cls).items() if isinstance(t, Tool)}
        cls._method_tools = {**inherited, **own}

    def __init__(
        self,
        *,
        model: str | None = None,
        system: str | None = None,
        system_file: str | Path | None = None,
        tools: Sequence[ToolLike] | None = None,
        max_tokens: int | None = None,
        max_turns: int | None = None,
        name: str | None = None,
        description: str | None = None,
        vars: dict[str, Any] | None = None,
        output_type: Any = None,
        output_mode: OutputMode | None = None,
        output_retries: int | None = None,
        thinking: dict[str, Any] | None = None,
        temperature: float | None = None,
        top_p: float | None = None,
        stop_sequences: list[str] | None = None,
        max_continuations: int | None = None,
        request_params: dict[str, Any] | None = None,
        memory_budget: int | None = None,
        memory: str | MemoryStrategy | None = None,
        keep_first: bool | None = None,
        pinned: Pinned = None,
        cache: CacheMode | None = None,
        cache_ttl: CacheTTL | None = None,
        usage_limits: UsageLimits | None = None,
        session_store: SessionStore | None = None,
        telemetry: TelemetrySettings | None = None,
        capture_content: bool | None = None,
        client: anthropic.AsyncAnthropic | None = None,
    ) -> None:
        cls = type(self)

        def pick(value: Any, default: Any) -> Any:
            return default if value is None else value

        self.model: str = pick(model, cls.model)
        self.name = name or cls.name or (cls.__name__ if cls is not Agent else "agent")
        self.description: str = pick(description, cls.description)
        self.max_tokens: int = pick(max_tokens, cls.max_tokens)
        self.max_turns: int = pick(max_turns, cls.max_turns)
        self.vars = {**cls.vars, **(vars or {})}
        self.output_type = pick(output_type, cls.output_type)
        self.output_mode: OutputMode = pick(output_mode, cls.output_mode)
        self.output_retries: int = pick(output_retries, cls.output_retries)
        self.thinking = pick(thinking, cls.thinking)
        self.temperature = pick(temperature, cls.temperature)
        self.top_p = pick(top_p, cls.top_p)
        self.stop_sequences = pick(stop_sequences, cls.stop_sequences)
        self.max_continuations: int = pick(max_continuations, cls.max_continuations)
        self.request_params = {**cls.request_params, **(request_params or {})}
        self.memory_budget: int | None = pick(memory_budget, cls.memory_budget)
        self.memory = pick(memory, cls.memory)
        self.memory_strategy = resolve_memory(self.memory)
        self.memory_strategy.request_params(self.memory_budget)  # a server strategy checks its trigger now
        self.keep_first: bool = pick(keep_first, cls.keep_first)
        self.pinned: Pinned = pick(pinned, cls.pinned)
        self.cache: CacheMode = pick(cache, cls.cache)
        self.cache_ttl: CacheTTL = pick(cache_ttl, cls.cache_ttl)
        if self.cache not in ("auto", "off") or self.cache_ttl not in ("5m", "1h"):
            raise ConfigurationError(f"Agent {self.name!r}: cache must be 'auto' or 'off', cache_ttl '5m' or '1h'")
        self.usage_limits: UsageLimits | None = pick(usage_limits, cls.usage_limits)
        self.session_store: SessionStore | None = pick(session_store, cls.session_store)
        self.telemetry: TelemetrySettings | None = pick(telemetry, cls.telemetry)
        if capture_content is not None:  # the shortcut for the one telemetry setting most runs change
            from .telemetry import TelemetrySettings

            base = self.telemetry or TelemetrySettings()
            self.telemetry = dataclasses.replace(base, capture_content=capture_content)
        self.client = pick(client, cls.client)
        self._owns_client = self.client is None
        if not self.model:
            raise ConfigurationError(f"Agent {self.name!r} has no model; pass model= or set `model` on the class")
        if self.max_turns < 1 or self.max_tokens < 1:
            raise ConfigurationError(f"Agent {self.name!r}: max_turns and max_tokens must be at least 1")
        self.system_prompt = self._system_prompt(system, system_file)
        self.tools = list(cls.tools if tools is None else tools)
        self.toolset = self._toolset(self.tools)
        self._outputs: dict[Any, OutputSpec[Any]] = {}
        self.output = self._output_spec(self.output_type) if self.output_type is not None else None

    def __repr__(self) -> str:
        tools = ", ".join(self.toolset)
        return f"{type(self).__name__}(name={self.name!r}, model={self.model!r}, tools=[{tools}])"

    async def run(
        self,
        prompt: Prompt,
        *,
        vars: dict[str, Any] | None = None,
        history: Sequence[MessageParam] | None = None,
        deps: Any = None,
        session: str | None = None,
    ) -> RunResult[Any]:
        """Run the agent on `prompt` until the model gives its final answer.

        `vars` fill the system prompt (over the agent's defaults), `history` is earlier
        `RunResult.messages`, and `deps` reach tools through `RunContext.deps`. With `session`, the
        history is loaded from `session_store` and saved after every completed turn. `output` is
        the text, or a validated instance of `output_type`.
        """
        async with self._begin(prompt, vars, history, deps, session, self.output) as run:
            return await result_of(run)

    async def resume(self, *, session: str, vars: dict[str, Any] | None = None, deps: Any = None) -> RunResult[Any]:
        """Finish a session's run that stopped part-way (a killed process): from its last saved turn."""
        async with self._begin(None, vars, None, deps, session, self.output) as run:
            return await result_of(run)

    async def extract(
        self,
        output_type: type[T],
        prompt: Prompt,
        *,
        vars: dict[str, Any] | None = None,
        history: Sequence[MessageParam] | None = None,
        deps: Any = None,
        session: str | None = None,
    ) -> T:
        """Run once and return the answer validated as `output_type` (a model, `list[Model]`, `int`...)."""
        async with self._begin(prompt, vars, history, deps, session, self._output_spec(output_type)) as run:
            result = await result_of(run)
        return cast(T, result.output)

    def stream(
        self,
        prompt: Prompt,
        *,
        vars: dict[str, Any] | None = None,
        history: Sequence[MessageParam] | None = None,
        deps: Any = None,
        session: str | None = None,
    ) -> AbstractAsyncContextManager[RunStream]:
        """Run the agent, streaming: `async with agent.stream(p) as run: async for event in run: ...`.

        Leaving the block early cancels the run cleanly; `run.result` is set once it finishes, and
        `run.messages` is the run's history so far, valid to send at every moment.
        """
        return streaming(self._begin(prompt, vars, history, deps, session, self.output, stream=True))

    def run_sync(
        self,
        prompt: Prompt,
        *,
        vars: dict[str, Any] | None = None,
        history: Sequence[MessageParam] | None = None,
        deps: Any = None,
        session: str | None = None,
    ) -> RunResult[Any]:
        """`run` for scripts: starts an event loop, so it cannot be called from inside one."""
        refuse_running_loop("run_sync", "await agent.run(...)")

        async def main() -> RunResult[Any]:
            try:
                return await self.run(prompt, vars=vars, history=history, deps=deps, session=session)
            finally:
                await self.aclose()  # a client made here is tied to this event loop

        return anyio.run(main)

    @contextmanager
    def stream_sync(
        self,
        prompt: Prompt,
        *,
        vars: dict[str, Any] | None = None,
        history: Sequence[MessageParam] | None = None,
        deps: Any = None,
        session: str | None = None,
    ) -> Iterator[Iterator[RunEvent]]:
        """`stream` for scripts: `with agent.stream_sync(p) as events: for event in events: ...`."""
        refuse_running_loop("stream_sync", "async with agent.stream(...)")
        with blocking_stream(self.stream(prompt, vars=vars, history=history, deps=deps, session=session), self) as it:
            yield it

    def as_tool(self, name: str | None = None, description: str | None = None, *, timeout: float | None = None) -> Tool:
        """This agent as a tool for another agent: the caller's model writes the task, this agent's
        output comes back as the tool result, and its usage is added to the caller's run."""

        async def delegate(arguments: dict[str, Any], ctx: RunContext[Any]) -> Any:
            task = arguments.get("prompt")
            if not isinstance(task, str) or not task.strip():
                raise ToolError("Give the task as a non-empty string in `prompt`.")
            result = await self.run(task, deps=ctx.deps)
            ctx.usage.add(result.usage)
            return result.output

        tool_name = name or re.sub(r"[^a-zA-Z0-9_-]+", "_", self.name)[:128]
        schema = {
            "type": "object",
            "properties": {"prompt": {"type": "string", "description": "The task, with all the context it needs."}},
            "required": ["prompt"],
        }
        about = description or self.description or f"Ask the {self.name} agent to do a task and give back its answer."
        return Tool.from_schema(tool_name, about, schema, delegate, timeout=timeout)

    async def aclose(self) -> None:
        """Close the client the agent made for itself (a client you passed in stays yours)."""
        if self._owns_client and self.client is not None:
            await self.client.close()
            self.client = None

    def _begin(
        self,
        prompt: Prompt | None,
        vars: dict[str, Any] | None,
        history: Sequence[MessageParam] | None,
        deps: Any,
        session: str | None,
        output: OutputSpec[Any] | None,
        *,
        stream: bool = False,
    ) -> AbstractAsyncContextManager[RunInput]:
        if self.client is None:
            import anthropic

            self.client = anthropic.AsyncAnthropic()
        return begin_run(
            self,
            self.client,
            prompt,
            variables={**self.vars, **(vars or {})},
            history=history,
            deps=deps,
            session=session,
            output=output,
            stream=stream,
        )

    def _output_spec(self, output_type: Any) -> OutputSpec[Any]:
        if output_type not in self._outputs:
            self._outputs[output_type] = OutputSpec(output_type, self.output_mode)
        return self._outputs[output_type]

    def _system_prompt(self, system: str | None, system_file: str | Path | None) -> SystemPrompt | None:
        if system is not None and system_file is not None:
            raise ConfigurationError(f"Agent {self.name!r}: pass system= or system_file=, not both")
        if system is not None:
            return SystemPrompt(system) if system else None
        if system_file is not None:
            return SystemPrompt.from_file(system_file)
        if type(self).system_file is not None:
            return SystemPrompt.from_file(self._class_relative(type(self).system_file))
        return SystemPrompt(type(self).system) if type(self).system else None

    def _class_relative(self, path: str | Path | None) -> Path:
        """A class's `system_file` resolves against the folder of the module that sets it."""
        assert path is not None
        owner = next(k for k in type(self).__mro__ if "system_file" in vars(k))
        return Path(inspect.getfile(owner)).parent / path

    def _toolset(self, given: Sequence[ToolLike]) -> dict[str, Tool]:
        """Method tools bound to this agent, then the given ones, by name."""
        tools = [t.bind(self) for t in type(self)._method_tools.values()]
        tools += [t if isinstance(t, Tool) else Tool(t) for t in given]
        toolset: dict[str, Tool] = {}
        for t in tools:
            if t.name in toolset:
                raise ToolDefinitionError(
                    f"Agent {self.name!r} has two tools named {t.name!r}; rename one with @tool(name=...)"
                )
            toolset[t.name] = t
        return toolset
