"""`Agent[Output]`: the settings of an agent, its tools, and the entry points that run it.

An agent is configured two ways that give the same object: class attributes on a subclass
(defaults; subclasses inherit them and add `@tool` methods) or keywords to the constructor
(which override the class's). Both fill one frozen `AgentSettings` (`agent.settings`). Running
it is the loop's job (`agentkit._loop.loop`); a run's setup and teardown live in `agentkit.run`.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import AsyncGenerator, Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Generic, cast, overload

from typing_extensions import TypeVar, Unpack

from .errors import ConfigurationError, ToolDefinitionError, ToolError
from .memory import resolve_memory
from .output import OUTPUT_TOOL, OutputSpec
from .prompts import SystemPrompt
from .result import RunEvent, RunResult, RunStream
from .run import RunRequest, blocking_stream, open_run, refuse_running_loop, result_of, streaming
from .settings import SETTING_NAMES, UNSET, AgentOptions, AgentSettings, ToolLike, Unset
from .tools import RunContext, Tool, Toolset, is_toolset

if TYPE_CHECKING:
    import anthropic
    from anthropic.types import MessageParam

    from .batch import BatchResult
    from .fanout import Job, Outcome
    from .hooks import Approval, RunHooks
    from .memory import MemoryStrategy

OutputT = TypeVar("OutputT", default=str)
T = TypeVar("T")
Prompt = str | Sequence[dict[str, Any]]

_MERGED = ("vars", "request_params")  # a subclass or keyword adds to these rather than replacing them


class Agent(Generic[OutputT]):
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

    Args:
        output_type: Validate the final answer into this type; `run()` then returns
            `RunResult[output_type]`.
        **settings: Any field of `AgentSettings` (see docs/agents.md); an explicit `None`
            sets `None`, overriding the class's value.
    """

    settings: AgentSettings
    """The agent's settings, frozen; `override()` swaps some of them for a block of code."""

    _class_settings: ClassVar[dict[str, Any]] = {}
    _method_tools: ClassVar[dict[str, Tool]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        own = {name: value for name, value in vars(cls).items() if name in SETTING_NAMES}
        for name in own:
            delattr(cls, name)  # the value lives in the settings; `agent.<name>` reads them
        if isinstance(own.get("system_file"), (str, Path)):
            own["system_file"] = Path(inspect.getfile(cls)).parent / own["system_file"]
        inherited = getattr(cls.__mro__[1], "_class_settings", {})
        merged = {**inherited, **own}
        for name in _MERGED:
            if name in own and name in inherited:
                merged[name] = {**inherited[name], **own[name]}
        if "system" in own and "system_file" not in own:
            merged.pop("system_file", None)  # a subclass's system replaces its base's file
        if "system_file" in own and "system" not in own:
            merged.pop("system", None)
        cls._class_settings = merged
        bases = {name: t for base in reversed(cls.__mro__[1:]) for name, t in vars(base).items() if isinstance(t, Tool)}
        cls._method_tools = {**bases, **{name: t for name, t in vars(cls).items() if isinstance(t, Tool)}}

    @overload
    def __init__(self: Agent[T], *, output_type: type[T], **settings: Unpack[AgentOptions]) -> None: ...
    @overload
    def __init__(self, *, output_type: Any = ..., **settings: Unpack[AgentOptions]) -> None: ...
    def __init__(self, *, output_type: Any = UNSET, **settings: Unpack[AgentOptions]) -> None:
        cls = type(self)
        unknown = sorted(set(settings) - SETTING_NAMES)
        if unknown:
            raise ConfigurationError(
                f"Agent() got unknown setting(s) {', '.join(unknown)}; "
                f"the settings are: {', '.join(sorted(SETTING_NAMES))}"
            )
        values: dict[str, Any] = {**cls._class_settings, **settings}
        for name in _MERGED:
            if name in settings and name in cls._class_settings:
                values[name] = {**cls._class_settings[name], **(settings[name] or {})}  # type: ignore[literal-required]
        if "system" in settings and "system_file" not in settings:
            values.pop("system_file", None)
        if output_type is not UNSET:
            values["output_type"] = output_type
        values.setdefault("name", cls.__name__ if cls is not Agent else "agent")
        self.settings = AgentSettings(**values)
        self._override: ContextVar[AgentSettings | None] = ContextVar(f"agentkit.override.{id(self)}", default=None)
        self._scope: list[Any] = []  # the client an `async with agent:` block made, while it is open
        self.memory_strategy: MemoryStrategy = resolve_memory(self.settings.memory, self.settings.memory_budget)
        self.system_prompt = self._system_prompt(self.settings)
        self.toolset, self.toolsets = self._tools(self.settings.tools)
        self._outputs: dict[Any, OutputSpec[Any]] = {}
        self.output = self._output_spec(self.settings.output_type) if self.settings.output_type is not None else None

    def __repr__(self) -> str:
        tools = ", ".join(self.toolset)
        return f"{type(self).__name__}(name={self.name!r}, model={self.model!r}, tools=[{tools}])"

    if TYPE_CHECKING:  # every setting reads as an attribute: `agent.model`, `agent.max_turns`...

        def __getattr__(self, name: str) -> Any: ...

    # -- entry points ---------------------------------------------------------------------------

    async def run(
        self,
        prompt: Prompt,
        *,
        vars: Mapping[str, Any] | None = None,
        history: Sequence[MessageParam] | None = None,
        deps: Any = None,
        session: str | None = None,
        hooks: RunHooks | None = None,
    ) -> RunResult[OutputT]:
        """Run the agent on `prompt` until the model gives its final answer.

        Args:
            prompt: The user's message: a string, or content blocks (text, image, document).
            vars: Template variables for the system prompt, over the agent's `vars`.
            history: Earlier `RunResult.messages` to go on from.
            deps: Anything the tools need; they reach it as `RunContext.deps`.
            session: A session id: the history is loaded from the session store, and every
                turn (and each tool result as it lands) is saved there.
            hooks: How a layer on top of the loop carries out its steps (`agentkit.hooks`).

        Returns:
            The `RunResult`; `output` is the text, or a validated `output_type`.
        """
        request = self._request(prompt, vars, history, deps, session, self.output, hooks=hooks)
        async with open_run(request) as run:
            return cast("RunResult[OutputT]", await result_of(run))

    async def resume(
        self,
        *,
        session: str,
        vars: Mapping[str, Any] | None = None,
        deps: Any = None,
        approvals: Mapping[str, Approval] | None = None,
        hooks: RunHooks | None = None,
    ) -> RunResult[OutputT]:
        """Finish a session's run that stopped part-way: a killed process, or calls awaiting approval.

        A finished session gives its result back without a request.

        Args:
            session: The session id the run was started with.
            vars: Template variables, as for `run`.
            deps: Dependencies for the tools, as for `run`.
            approvals: Decisions on pending calls, by call id: True runs it; False or a
                reason denies it (the model gets the reason as an error result).
            hooks: As for `run`.
        """
        request = self._request(None, vars, None, deps, session, self.output, hooks=hooks, approvals=approvals)
        async with open_run(request) as run:
            return cast("RunResult[OutputT]", await result_of(run))

    async def extract(
        self,
        output_type: type[T],
        prompt: Prompt,
        *,
        vars: Mapping[str, Any] | None = None,
        history: Sequence[MessageParam] | None = None,
        deps: Any = None,
        session: str | None = None,
        hooks: RunHooks | None = None,
    ) -> T:
        """Run once and return the answer validated as `output_type`.

        Args:
            output_type: A pydantic model, a dataclass, `list[Model]`, `int`...
            prompt: As for `run`.
            vars: As for `run`.
            history: As for `run`.
            deps: As for `run`.
            session: As for `run`.
            hooks: As for `run`.
        """
        output = self._output_spec(output_type)
        request = self._request(prompt, vars, history, deps, session, output, hooks=hooks)
        async with open_run(request) as run:
            result = await result_of(run)
        return cast(T, result.output)

    def stream(
        self,
        prompt: Prompt,
        *,
        vars: Mapping[str, Any] | None = None,
        history: Sequence[MessageParam] | None = None,
        deps: Any = None,
        session: str | None = None,
        hooks: RunHooks | None = None,
    ) -> AbstractAsyncContextManager[RunStream]:
        """Run the agent, streaming: `async with agent.stream(p) as run: async for event in run: ...`.

        Leaving the block early stops the run cleanly: once it is left, `run.messages` is the
        history so far, every tool call answered and valid to send, and a session keeps every
        tool result that exists.

        Args:
            prompt: As for `run`.
            vars: As for `run`.
            history: As for `run`.
            deps: As for `run`.
            session: As for `run`.
            hooks: As for `run`.
        """
        return streaming(self._request(prompt, vars, history, deps, session, self.output, stream=True, hooks=hooks))

    def run_sync(
        self,
        prompt: Prompt,
        *,
        vars: Mapping[str, Any] | None = None,
        history: Sequence[MessageParam] | None = None,
        deps: Any = None,
        session: str | None = None,
        hooks: RunHooks | None = None,
    ) -> RunResult[OutputT]:
        """`run` for scripts: starts an event loop, so it cannot be called from inside one.

        Args:
            prompt: As for `run`.
            vars: As for `run`.
            history: As for `run`.
            deps: As for `run`.
            session: As for `run`.
            hooks: As for `run`.
        """
        import anyio

        refuse_running_loop("run_sync", "await agent.run(...)")
        request = self._request(prompt, vars, history, deps, session, self.output, hooks=hooks)

        async def main() -> RunResult[OutputT]:
            async with open_run(request) as run:
                return cast("RunResult[OutputT]", await result_of(run))

        return anyio.run(main)

    @contextmanager
    def stream_sync(
        self,
        prompt: Prompt,
        *,
        vars: Mapping[str, Any] | None = None,
        history: Sequence[MessageParam] | None = None,
        deps: Any = None,
        session: str | None = None,
    ) -> Iterator[Iterator[RunEvent]]:
        """`stream` for scripts: `with agent.stream_sync(p) as events: for event in events: ...`.

        Args:
            prompt: As for `run`.
            vars: As for `run`.
            history: As for `run`.
            deps: As for `run`.
            session: As for `run`.
        """
        refuse_running_loop("stream_sync", "async with agent.stream(...)")
        with blocking_stream(self.stream(prompt, vars=vars, history=history, deps=deps, session=session)) as events:
            yield events

    def map(
        self,
        inputs: Iterable[Prompt | Job],
        *,
        concurrency: int | None = None,
        vars: Mapping[str, Any] | None = None,
        deps: Any = None,
    ) -> AsyncGenerator[Outcome, None]:
        """Many live runs at once, paced by the API's rate-limit headers; outcomes as they finish.

        One failed run never stops the others; closing the iterator early cancels the runs still
        going, each history left valid. `agentkit.fanout.map_in_order` gives them in input order.

        Args:
            inputs: Prompts, or `agentkit.fanout.Job`s (a prompt with its own vars, deps, history).
            concurrency: At most this many runs in progress at once (None: as the pacer allows).
            vars: Template variables for every run.
            deps: Dependencies for every run.
        """
        from .fanout import map_runs

        return map_runs(self, inputs, concurrency=concurrency, vars=dict(vars) if vars else None, deps=deps)

    async def batch(
        self,
        inputs: Iterable[Any] | None = None,
        *,
        vars: Mapping[str, Any] | None = None,
        deps: Any = None,
        resume: str | None = None,
        **options: Any,
    ) -> BatchResult:
        """Whole runs through the Message Batches API at half the price: each turn of every run in
        one batch, tools run locally between batches; resumable after a crash.

        Args:
            inputs: Prompts, or `agentkit.batch.BatchInput`s (a prompt with an id, vars, deps, history).
            vars: Template variables for every run.
            deps: Dependencies for every run.
            resume: A job id to re-attach to (its batches in flight are not submitted again).
            **options: The other keywords of `agentkit.batch.run_batch` (`max_cost`, `polling`...).

        Returns:
            The outcome of every input, in input order.
        """
        from .batch import run_batch

        return await run_batch(self, inputs, vars=vars, deps=deps, resume=resume, **options)

    def batch_sync(self, inputs: Iterable[Any] | None = None, **options: Any) -> BatchResult:
        """`batch` for scripts: starts an event loop, so it cannot be called from inside one.

        Args:
            inputs: As for `batch`.
            **options: The keywords of `batch`.
        """
        from .batch import run_batch_sync

        return run_batch_sync(self, inputs, **options)

    def as_tool(self, name: str | None = None, description: str | None = None, *, timeout: float | None = None) -> Tool:
        """This agent as a tool for another agent.

        The caller's model writes the task; this agent's output comes back as the tool result,
        and its usage is added to the caller's run.

        Args:
            name: The tool's name (default: the agent's name, made valid).
            description: The tool's description (default: the agent's `description`).
            timeout: Seconds before the delegated run is abandoned with an error result.
        """

        async def delegate(arguments: dict[str, Any], ctx: RunContext[Any]) -> Any:
            task = arguments.get("prompt")
            if not isinstance(task, str) or not task.strip():
                raise ToolError("Give the task as a non-empty string in `prompt`.")
            result = await self.run(task, deps=ctx.deps)
            ctx.add_usage(result.usage)
            return result.output

        tool_name = name or re.sub(r"[^a-zA-Z0-9_-]+", "_", self.name)[:128]
        schema = {
            "type": "object",
            "properties": {"prompt": {"type": "string", "description": "The task, with all the context it needs."}},
            "required": ["prompt"],
        }
        about = description or self.description or f"Ask the {self.name} agent to do a task and give back its answer."
        return Tool.from_schema(tool_name, about, schema, delegate, timeout=timeout)

    # -- scopes ---------------------------------------------------------------------------------

    @contextmanager
    def override(
        self,
        *,
        client: anthropic.AsyncAnthropic | Unset | None = UNSET,
        model: str | Unset = UNSET,
        **settings: Any,
    ) -> Iterator[Agent[OutputT]]:
        """Swap settings for the runs started inside the block (and its tasks), e.g. in tests.

        ```python
        with agent.override(client=server.client()):
            agent.run_sync("hi")
        ```

        Args:
            client: The client the runs use.
            model: The model the runs ask.
            **settings: Any other field of `AgentSettings`.
        """
        unknown = sorted(set(settings) - SETTING_NAMES)
        if unknown:
            raise ConfigurationError(f"override() got unknown setting(s) {', '.join(unknown)}")
        current = self._settings()
        token = self._override.set(current.replace(client=client, model=model, **settings))
        try:
            yield self
        finally:
            self._override.reset(token)

    async def __aenter__(self) -> Agent[OutputT]:
        """Keep one client (and the toolsets' servers) open for every run inside the block."""
        from .run import enter_scope

        self._scope.append(await enter_scope(self._settings(), self.toolsets))
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self._scope.pop().aclose()

    async def aclose(self) -> None:
        """Nothing to close: a client agentkit makes lives only as long as its run or scope."""

    # -- internals ------------------------------------------------------------------------------

    def _settings(self) -> AgentSettings:
        return self._override.get() or self.settings

    def _request(
        self,
        prompt: Prompt | None,
        vars: Mapping[str, Any] | None,
        history: Sequence[MessageParam] | None,
        deps: Any,
        session: str | None,
        output: OutputSpec[Any] | None,
        *,
        stream: bool = False,
        hooks: RunHooks | None = None,
        approvals: Mapping[str, Approval] | None = None,
    ) -> RunRequest:
        settings = self._settings()
        return RunRequest(
            agent=self,
            settings=settings,
            prompt=prompt,
            variables={**settings.vars, **(vars or {})},
            history=history,
            deps=deps,
            session=session,
            output=output,
            stream=stream,
            hooks=hooks,
            approvals=dict(approvals or {}),
            scope=self._scope[-1] if self._scope else None,
        )

    def _output_spec(self, output_type: Any) -> OutputSpec[Any]:
        if output_type not in self._outputs:
            spec = OutputSpec(output_type, self.settings.output_mode)
            if spec.mode == "tool" and OUTPUT_TOOL in self.toolset:
                raise ToolDefinitionError(
                    f"Agent {self.name!r} has a tool named {OUTPUT_TOOL!r}, the name of the output tool "
                    f"typed output adds; rename the tool (@tool(name=...)) or use output_mode='native'"
                )
            self._outputs[output_type] = spec
        return self._outputs[output_type]

    @staticmethod
    def _system_prompt(settings: AgentSettings) -> SystemPrompt | None:
        if settings.system_file is not None:
            return SystemPrompt.from_file(settings.system_file)
        return SystemPrompt(settings.system) if settings.system else None

    def _tools(self, given: Sequence[ToolLike]) -> tuple[dict[str, Tool], list[Toolset]]:
        """Method tools bound to this agent, then the given ones, by name; toolsets apart."""
        tools = [t.bind(self) for t in type(self)._method_tools.values()]
        toolsets: list[Toolset] = []
        for item in given:
            if isinstance(item, Tool):
                tools.append(item)
            elif is_toolset(item):
                toolsets.append(cast(Toolset, item))
            else:
                tools.append(Tool(cast(Callable[..., Any], item)))
        toolset: dict[str, Tool] = {}
        for t in tools:
            if t.name in toolset:
                raise ToolDefinitionError(
                    f"Agent {self.name!r} has two tools named {t.name!r}; rename one with @tool(name=...)"
                )
            toolset[t.name] = t
        return toolset, toolsets


def _setting(name: str) -> property:
    def read(self: Agent[Any]) -> Any:
        return getattr(self._settings(), name)

    read.__name__ = name
    read.__doc__ = f"The `{name}` setting (see `AgentSettings.{name}`)."
    return property(read)


for _name in sorted(SETTING_NAMES - {"tools"}):
    setattr(Agent, _name, _setting(_name))
Agent.tools = property(lambda self: list(self.settings.tools))  # type: ignore[attr-defined]
