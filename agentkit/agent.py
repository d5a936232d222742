"""`Agent`: the configuration of an agent, and the entry points that run it.

An agent is configured two ways that give the same object: class attributes on a subclass
(defaults; subclasses inherit them and add `@tool` methods) or keywords to the constructor
(which override the class's). Running it is the pipeline's job (`agentkit._pipeline`).
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import anyio

from .errors import ConfigurationError, ToolDefinitionError
from .prompts import SystemPrompt
from .result import RunResult
from .tools import Tool

if TYPE_CHECKING:
    import anthropic
    from anthropic.types import MessageParam

    from ._pipeline import RunInput

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
    vars: dict[str, Any] = {}  # noqa: RUF012 - read-only defaults, copied per run
    request_params: dict[str, Any] = {}  # noqa: RUF012 - read-only defaults, copied per run
    client: anthropic.AsyncAnthropic | None = None

    _method_tools: ClassVar[dict[str, Tool]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        inherited = {
            name: t
            for base in reversed(cls.__mro__[1:])
            for name, t in vars(base).items()
            if isinstance(t, Tool)
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
        vars: dict[str, Any] | None = None,
        request_params: dict[str, Any] | None = None,
        client: anthropic.AsyncAnthropic | None = None,
    ) -> None:
        cls = type(self)
        self.model = model if model is not None else cls.model
        self.name = name or cls.name or (cls.__name__ if cls is not Agent else "agent")
        self.max_tokens = max_tokens if max_tokens is not None else cls.max_tokens
        self.max_turns = max_turns if max_turns is not None else cls.max_turns
        self.vars = {**cls.vars, **(vars or {})}
        self.request_params = {**cls.request_params, **(request_params or {})}
        self.client = client if client is not None else cls.client
        self._owns_client = self.client is None
        if not self.model:
            raise ConfigurationError(
                f"Agent {self.name!r} has no model; pass model= or set `model` on the class"
            )
        if self.max_turns < 1 or self.max_tokens < 1:
            raise ConfigurationError(f"Agent {self.name!r}: max_turns and max_tokens must be at least 1")
        self.system_prompt = self._system_prompt(system, system_file)
        self.tools = list(cls.tools if tools is None else tools)
        self.toolset = self._toolset(self.tools)

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
    ) -> RunResult[str]:
        """Run the agent on `prompt` until the model ends its turn.

        `vars` fill the system prompt (over the agent's defaults), `history` is earlier
        `RunResult.messages`, and `deps` reach tools through `RunContext.deps`.
        """
        from ._pipeline import run_events
        from .result import RunFinished

        async for event in run_events(self._run_input(prompt, vars, history, deps)):
            if isinstance(event, RunFinished):
                return event.result
        raise AssertionError("the run loop ended without a result")  # pragma: no cover

    def run_sync(
        self,
        prompt: Prompt,
        *,
        vars: dict[str, Any] | None = None,
        history: Sequence[MessageParam] | None = None,
        deps: Any = None,
    ) -> RunResult[str]:
        """`run` for scripts: starts an event loop, so it cannot be called from inside one."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass
        else:
            raise RuntimeError(
                "Agent.run_sync() was called inside a running event loop; "
                f"use `await {self.name}.run(...)` there"
            )

        async def main() -> RunResult[str]:
            try:
                return await self.run(prompt, vars=vars, history=history, deps=deps)
            finally:
                await self.aclose()  # a client made here is tied to this event loop

        return anyio.run(main)

    async def aclose(self) -> None:
        """Close the client the agent made for itself (a client you passed in stays yours)."""
        if self._owns_client and self.client is not None:
            await self.client.close()
            self.client = None

    def _run_input(
        self, prompt: Prompt, vars: dict[str, Any] | None, history: Sequence[MessageParam] | None, deps: Any
    ) -> RunInput:
        from ._pipeline import RunInput

        if self.client is None:
            import anthropic

            self.client = anthropic.AsyncAnthropic()
        return RunInput(
            agent=self,
            client=self.client,
            prompt=prompt,
            variables={**self.vars, **(vars or {})},
            history=list(history or ()),
            deps=deps,
        )

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
