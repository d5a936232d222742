"""Tools from typed Python functions: a JSON schema from the signature, arguments validated before
the call, and every tool-side failure turned into an `is_error` result the model can act on.

The schema and the validator are built once, at decoration time, so a function that cannot be a
tool fails when its module is imported (with file:line and the fix), not in the middle of a run.
"""

from __future__ import annotations

import functools
import inspect
import re
import typing
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeAlias, TypeVar, overload, runtime_checkable

import anyio
import anyio.to_thread

from ._docstrings import parse_docstring
from ._schema import error_lines
from ._tool_results import content_of, error_text
from .errors import ToolDefinitionError, ToolError
from .usage import Usage

if TYPE_CHECKING:
    from ._tool_schema import Param
    from .agent import Agent

__all__ = ["ApprovalPolicy", "RunContext", "Tool", "ToolResult", "Toolset", "is_toolset", "tool"]

DepsT = TypeVar("DepsT")

_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,128}$")


@dataclass
class RunContext(Generic[DepsT]):
    """What a tool can reach besides its arguments. Never shown to the model.

    A tool asks for it by annotating a parameter `RunContext[MyDeps]` (any name); agentkit fills
    it in and leaves it out of the schema the model sees.

    Args:
        deps: The run's dependencies, as given to `agent.run(..., deps=...)`.
        agent: The agent running the tool.
        usage: The run's usage so far.
        messages: The history so far, as Messages API params.
        run_id: The run's id (the same in its spans and log events).
        turn: The number of the model call this tool call came from (1 for the first).
        tool_call_id: The id of the `tool_use` block being answered.
        added: Usage this call caused (`add_usage`), counted in the run's when the result lands.
    """

    deps: DepsT
    """The run's dependencies, as given to `agent.run(..., deps=...)` (None if none were)."""
    agent: Agent
    """The agent running the tool."""
    usage: Usage
    """The run's usage so far: requests, input and output tokens, cache reads and writes."""
    messages: Sequence[Any]
    """The history so far, as Messages API params; read it, do not change it."""
    run_id: str
    """The run's id, as in its spans and log events."""
    turn: int
    """The number of the model call this tool call came from (1 for the first)."""
    tool_call_id: str = ""
    """The id of the `tool_use` block this call answers (empty outside a call)."""
    added: Usage = field(default_factory=Usage)
    """Usage this call caused (a sub-agent's run): `add_usage()` records it."""

    def for_call(self, tool_call_id: str) -> RunContext[DepsT]:
        """This context for one tool call."""
        return RunContext(self.deps, self.agent, self.usage, self.messages, self.run_id, self.turn, tool_call_id)

    def add_usage(self, usage: Usage) -> None:
        """Count `usage` (a sub-agent's, a model call a tool made) in the run's usage.

        It is added when the call's result lands, with the result, so a durable run that replays
        the call's checkpoint counts it once.

        Args:
            usage: The usage to add.
        """
        self.added.add(usage)


ApprovalPolicy: TypeAlias = "bool | Callable[[dict[str, Any]], bool]"
"""Whether a call needs a human's approval: always, never, or decided on the call's arguments."""


@runtime_checkable
class Toolset(Protocol):
    """Tools that come from elsewhere (an MCP server): started for a run, listed each turn.

    A run enters every toolset of its agent for its duration (`async with agent:` keeps them
    entered across runs); entering is refcounted by the toolset, so concurrent runs share it.
    """

    name: str
    """Names the toolset in errors (a clash of tool names names both sources)."""

    async def __aenter__(self) -> Any: ...

    async def __aexit__(self, *exc_info: Any) -> Any: ...

    async def list_tools(self) -> Sequence[Tool]:
        """The tools, as the model sees them; cached by the toolset, so cheap to call per turn."""
        ...


def is_toolset(value: object) -> bool:
    """Whether `value` is a toolset rather than a function or a `Tool`."""
    return not isinstance(value, Tool) and callable(getattr(value, "list_tools", None)) and hasattr(value, "__aenter__")


@dataclass(frozen=True)
class ToolResult:
    """The outcome of one call, ready to become a `tool_result` block.

    Args:
        content: What the model reads: text, or content blocks (text, image, document,
            search_result).
        is_error: Whether the call failed; the model sees it as an error result.
        usage: Usage the call caused (a sub-agent's run), counted in the run's when it lands.
    """

    content: str | list[dict[str, Any]]
    """What the model reads: text, or content blocks."""
    is_error: bool = False
    """Whether the call failed (sent as `is_error: true`)."""
    usage: Usage | None = field(default=None, compare=False, repr=False)
    """Usage the call caused (`RunContext.add_usage`), counted in the run's when the result lands."""

    def to_block(self, tool_use_id: str) -> dict[str, Any]:
        """The `tool_result` block answering `tool_use_id`.

        An error result with no content gets a short message: the API refuses `is_error` with
        empty content.

        Args:
            tool_use_id: The id of the `tool_use` block this result answers.
        """
        content = self.content
        if self.is_error and not (content.strip() if isinstance(content, str) else content):
            content = "The tool failed without saying why."
        block: dict[str, Any] = {"type": "tool_result", "tool_use_id": tool_use_id, "content": content}
        if self.is_error:
            block["is_error"] = True
        return block


class Tool:
    """A function the model can call: its name, description, input schema and how to run it.

    The schema comes from the signature (pydantic), the description from the docstring (its
    `Args:` section describes the parameters); a parameter annotated `RunContext` is filled in
    by agentkit and never shown to the model. A function that cannot be a tool raises
    `ToolDefinitionError` here, naming its file and line.

    Args:
        function: A function or method, sync (run in a worker thread) or async.
        name: The tool's name (default: the function's); it must match `^[a-zA-Z0-9_-]{1,128}$`.
        description: The description the model reads (default: the docstring's summary).
        timeout: Seconds before the call is abandoned with an error result (default: none).
        idempotent: Safe to run again when a crash left it unfinished; otherwise resume answers
            it with an error saying it may or may not have run.
        requires_approval: Wait for a human's decision before running it: always, or when a
            function of the arguments says so.
        durable: In a durable run, a checkpointed step of its own (False for pure functions).
    """

    name: str
    description: str
    input_schema: dict[str, Any]
    timeout: float | None
    idempotent: bool
    requires_approval: ApprovalPolicy
    durable: bool
    blocking: bool
    function: Callable[..., Any]
    _instance: object | None  # the `self` of a bound method tool
    _is_method: bool
    _is_async: bool
    _params: tuple[Param, ...]
    _validate: Callable[[Any], Any] | None  # None: a `from_schema` tool, arguments pass as they are
    _param: dict[str, Any]

    def __init__(
        self,
        function: Callable[..., Any],
        *,
        name: str | None = None,
        description: str | None = None,
        timeout: float | None = None,
        idempotent: bool = False,
        requires_approval: ApprovalPolicy = False,
        durable: bool = True,
        blocking: bool = True,
    ) -> None:
        if not callable(function):
            raise ToolDefinitionError(
                f"Cannot make a tool from {function!r} ({type(function).__name__}): it is not callable; "
                "pass a function or a method."
            )
        default_name: str = getattr(function, "__name__", type(function).__name__)
        from ._tool_schema import build, check_name, is_async, unwrapped  # pydantic loads with the first tool

        tool_name = check_name(name or default_name, function)
        doc_description, param_docs = parse_docstring(inspect.getdoc(unwrapped(function)))
        is_method, params, model, schema = build(tool_name, function, param_docs, _is_run_context)
        self._setup(function, tool_name, doc_description if description is None else description, schema, timeout)
        self.idempotent, self.requires_approval, self.durable = idempotent, requires_approval, durable
        self.blocking = blocking
        self._is_method, self._params, self._is_async = is_method, params, is_async(function)
        self._validate = model.__pydantic_validator__.validate_python

    @classmethod
    def from_schema(
        cls,
        name: str,
        description: str,
        input_schema: dict[str, Any],
        function: Callable[[dict[str, Any], RunContext[Any]], Awaitable[Any]],
        *,
        timeout: float | None = None,
        idempotent: bool = False,
        requires_approval: ApprovalPolicy = False,
        durable: bool = True,
    ) -> Tool:
        """A tool with a hand-written schema: arguments reach `function` as the dict the model sent.

        Args:
            name: The tool's name; it must match `^[a-zA-Z0-9_-]{1,128}$`.
            description: The description the model reads.
            input_schema: A JSON schema of `"type": "object"` (the API takes only objects).
            function: `async def function(arguments, ctx)`, called with the model's arguments
                as they are (not validated) and the `RunContext`.
            timeout: Seconds before the call is abandoned with an error result.
            idempotent: Safe to run again when a crash left it unfinished.
            requires_approval: Wait for a human's decision before running it.
            durable: In a durable run, a checkpointed step of its own.
        """
        self = cls.__new__(cls)
        from ._tool_schema import check_name, check_object_schema

        check_object_schema(name, input_schema, function)
        self._setup(function, check_name(name, function), description, input_schema, timeout)
        self.idempotent, self.requires_approval, self.durable = idempotent, requires_approval, durable
        self.blocking = True
        return self

    def _setup(
        self,
        function: Callable[..., Any],
        name: str,
        description: str,
        schema: dict[str, Any],
        timeout: float | None,
    ) -> None:
        """The state every tool has; `__init__` then adds what a signature gives (defaults: none)."""
        self.function, self.name, self.description, self.input_schema = function, name, description, schema
        self.timeout = timeout
        self._instance = None
        self._is_method, self._params, self._is_async = False, (), True
        self._validate = None
        self._param = {"name": name, "description": description, "input_schema": schema}
        if not description:
            del self._param["description"]

    def needs_approval(self, arguments: dict[str, Any]) -> bool:
        """Whether this call waits for a human's decision (`requires_approval`)."""
        policy = self.requires_approval
        return bool(policy(arguments)) if callable(policy) else bool(policy)

    @property
    def param(self) -> dict[str, Any]:
        """The tool as the Messages API's `tools` entry: the same dict every time (read-only)."""
        return self._param

    def to_param(self) -> dict[str, Any]:
        """The tool as the Messages API's `tools` entry. A shallow copy: add keys freely."""
        return dict(self._param)

    def bind(self, instance: object) -> Tool:
        """This method tool with `instance` as `self`; the schema and validator are shared.
        A tool that takes no `self` is returned unchanged, so binding every tool is safe."""
        if not self._is_method:
            return self
        bound = object.__new__(type(self))
        bound.__dict__.update(self.__dict__)
        bound._instance = instance
        return bound

    def __get__(self, instance: object | None, owner: type[Any] | None = None) -> Tool:
        if instance is None or not self._is_method or self._instance is not None:
            return self
        return self.bind(instance)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call the function directly, so a decorated function stays testable as a plain function."""
        if self._instance is not None:
            return self.function(self._instance, *args, **kwargs)
        return self.function(*args, **kwargs)

    def __repr__(self) -> str:
        bound = " bound" if self._instance is not None else ""
        return f"<Tool{bound} {self.name!r}>"

    async def run(self, arguments: dict[str, Any], ctx: RunContext[Any]) -> ToolResult:
        """Validate, call and serialise. Tool-side failures come back as `is_error` results;
        cancellation from outside propagates."""
        if self._is_method and self._instance is None:
            raise ToolDefinitionError(
                f"Tool '{self.name}' is a method; bind it first, e.g. `instance.{self.name}` or `tool.bind(instance)`."
            )
        if not isinstance(arguments, dict):
            return ToolResult(f"Tool '{self.name}' takes a JSON object of arguments.", is_error=True)
        from pydantic import ValidationError  # loaded already: this tool's validator is pydantic's

        try:
            call = self._prepare(arguments, ctx)
        except ValidationError as exc:
            lines = [
                f"Invalid arguments for tool '{self.name}':",
                *error_lines(exc),
                "Fix these and call the tool again.",
            ]
            return ToolResult(error_text(self.name, "\n".join(lines)), is_error=True)
        except Exception as exc:  # a custom validator that raised something pydantic does not wrap
            return self._failed(exc)
        try:
            if self.timeout is None:
                value = await self._invoke(call)
            else:
                with anyio.move_on_after(self.timeout) as scope:
                    value = await self._invoke(call)
                if scope.cancelled_caught:
                    return ToolResult(f"Tool '{self.name}' timed out after {self.timeout:g}s.", is_error=True)
        except ToolError as exc:
            return ToolResult(error_text(self.name, str(exc)), is_error=True)
        except Exception as exc:  # a bug in the tool is reported to the model, not raised into the run
            return self._failed(exc)
        return self._to_result(value)

    def _failed(self, exc: Exception) -> ToolResult:
        _warn("tool_failed", tool=self.name, exc_info=True)  # called in `except`
        detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        return ToolResult(error_text(self.name, f"Tool '{self.name}' failed: {detail}"), is_error=True)

    def _prepare(self, arguments: dict[str, Any], ctx: RunContext[Any]) -> Callable[[], Any]:
        """Validate the arguments into a ready-to-call thunk (raises ValidationError)."""
        if self._validate is None:
            schema_fn = self.function
            return lambda: schema_fn(arguments, ctx)
        values = self._validate(arguments).__dict__
        args: list[Any] = [] if self._instance is None else [self._instance]
        kwargs: dict[str, Any] = {}
        for p in self._params:
            value = ctx if p.is_ctx else values[p.field]
            if p.positional:
                args.append(value)
            else:
                kwargs[p.name] = value
        return functools.partial(self.function, *args, **kwargs)

    async def _invoke(self, call: Callable[[], Any]) -> Any:
        if self._is_async or not self.blocking:
            value = call()
        else:  # abandoned on cancel: a timeout is honoured even if the function never returns
            # anyio's worker threads, not a bare executor: a tool can call back into the loop with
            # `anyio.from_thread`, and the caller's context (the tool's span) goes with it.
            value = await anyio.to_thread.run_sync(call, abandon_on_cancel=True)
        if inspect.isawaitable(value):
            value = await value
        return value

    def _to_result(self, value: Any) -> ToolResult:
        """Text, valid content blocks, or JSON; an error result if it cannot be sent (`_tool_results`)."""
        content, is_error, warning = content_of(self.name, value)
        if warning is not None:
            _warn(warning, tool=self.name, type=type(value).__name__)
        return ToolResult(content, is_error=is_error)


@overload
def tool(
    func: Callable[..., Any],
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    timeout: float | None = None,
    idempotent: bool = False,
    requires_approval: ApprovalPolicy = False,
    durable: bool = True,
    blocking: bool = True,
) -> Tool: ...
@overload
def tool(
    *,
    name: str | None = None,
    description: str | None = None,
    timeout: float | None = None,
    idempotent: bool = False,
    requires_approval: ApprovalPolicy = False,
    durable: bool = True,
    blocking: bool = True,
) -> Callable[[Callable[..., Any]], Tool]: ...
def tool(
    func: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    timeout: float | None = None,
    idempotent: bool = False,
    requires_approval: ApprovalPolicy = False,
    durable: bool = True,
    blocking: bool = True,
) -> Tool | Callable[[Callable[..., Any]], Tool]:
    """Make a `Tool` from a function: `@tool`, `@tool()` or `@tool(name=..., timeout=...)`.

    Args:
        func: The function (given when used as a bare `@tool`).
        name: The tool's name (default: the function's).
        description: The description the model reads (default: the docstring's summary).
        timeout: Seconds before the call is abandoned with an error result.
        idempotent: Safe to run again when a crash left it unfinished; otherwise resume answers
            it with an error saying it may or may not have run.
        requires_approval: Wait for a human's decision before running it: always, or when a
            function of the arguments says so.
        durable: In a durable run, a checkpointed step of its own (False for pure functions).
        blocking: For a plain `def`: run it in a worker thread (the default), so a slow function
            never stalls the event loop. `blocking=False` calls it on the event loop: for fast,
            pure functions (a lookup, arithmetic), it saves the ~100 us thread hop per call.
    """
    options: dict[str, Any] = {
        "name": name,
        "description": description,
        "timeout": timeout,
        "idempotent": idempotent,
        "requires_approval": requires_approval,
        "durable": durable,
        "blocking": blocking,
    }
    if func is not None:
        return Tool(func, **options)
    return functools.partial(Tool, **options)


def _is_run_context(hint: Any) -> bool:
    return hint is RunContext or typing.get_origin(hint) is RunContext


def _warn(event: str, **fields: Any) -> None:
    """Log through structlog once the application has configured it: a library must not print.

    Every call logs (no memo): three failures of a tool are three warnings, and a failure before
    `structlog.configure` does not silence that tool for the rest of the process.
    """
    from ._telemetry._logging import enabled

    if enabled():
        import structlog

        structlog.get_logger("agentkit.tools").warning(event, **fields)
