"""`MCPServer`: the tools of an MCP server as an agentkit toolset.

Lifetime: entering the server (`async with server:`, or a run of an agent that has it) starts it
once; concurrent users share that one session (a reference count); the last one to leave stops it
and, for stdio, the process is reaped before `__aexit__` returns, also on cancellation. A session
that dies (the process crashed) fails the calls in flight with an error result and is restarted
on the next use.

Tools: listed once per session and cached; a `tools/list_changed` announcement drops the cache, so
the next `list_tools()` (the next turn) sees the new list. Calls are checked against the server's
own input schema before they are sent, and run concurrently over the one session.
"""

from __future__ import annotations

import asyncio
import functools
import shlex
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

import anyio
import anyio.lowlevel
from mcp import Client, MCPError, StdioServerParameters
from mcp.client.session import MessageHandlerFnT
from mcp_types import CONNECTION_CLOSED

from ..errors import AgentkitError, ToolDefinitionError, ToolError
from ..tools import RunContext, Tool
from . import _convert
from ._connection import ClientFactory, Connection, _warn, describe, leaf

if TYPE_CHECKING:
    from types import TracebackType
    from typing import Self

    import mcp_types

__all__ = ["MCPApprovalPolicy", "MCPServer", "MCPServerError", "ToolFilter"]

ToolFilter: TypeAlias = "Sequence[str] | Callable[[mcp_types.Tool], bool]"
"""The server's tool names to expose, or a predicate on each listed `mcp.types.Tool`."""
MCPApprovalPolicy: TypeAlias = "bool | Callable[[str, dict[str, Any]], bool]"
"""Whether a call needs approval: for every tool, or decided per call from the tool's name on the
server and the arguments."""

_Kind = Literal["stdio", "http", "in-process"]


class MCPServerError(AgentkitError):
    """An MCP server could not be started or listed (the command is missing, the URL refuses, the
    handshake timed out), or was used outside `async with`. Failed *calls* are error results."""


class MCPServer:
    """An MCP server's tools, for `Agent(tools=[...])`.

    Build one with `MCPServer.stdio(...)`, `MCPServer.http(...)` or, for tests,
    `MCPServer.in_process(...)`. An agent enters it for each run; `async with server:` keeps it
    running across runs, and `await server.list_tools()` inside gives agentkit `Tool`s.
    """

    name: str
    kind: _Kind
    prefix: str | None
    timeout: float | None
    startup_timeout: float | None

    def __init__(
        self,
        target: StdioServerParameters | str | Any,
        *,
        kind: _Kind,
        name: str,
        headers: Mapping[str, str] | None = None,
        prefix: str | None = None,
        filter: ToolFilter | None = None,
        timeout: float | None = 60.0,
        timeouts: Mapping[str, float] | None = None,
        startup_timeout: float | None = 30.0,
        requires_approval: MCPApprovalPolicy = False,
    ) -> None:
        """Prefer the `stdio`, `http` and `in_process` constructors, which document every argument."""
        if prefix is not None and not prefix:
            raise ToolDefinitionError(f"MCP server '{name}': prefix must be a non-empty string, or None")
        self.name, self.kind, self.prefix = name, kind, prefix
        self.timeout, self.startup_timeout = timeout, startup_timeout
        self._target = target
        self._headers = dict(headers or {})
        self._filter = _as_filter(filter)
        self._timeouts = dict(timeouts or {})
        self._approval = requires_approval
        self._users = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock: asyncio.Lock | None = None
        self._list_lock: asyncio.Lock | None = None
        self._connection: Connection | None = None
        self._tools: list[Tool] | None = None
        self._generation = 0  # bumped by every tools/list_changed, so a listing fetched before one is not kept
        self._changed = asyncio.Event()

    @classmethod
    def stdio(
        cls,
        command: str,
        args: Sequence[str] = (),
        *,
        env: Mapping[str, str] | None = None,
        cwd: str | Path | None = None,
        name: str | None = None,
        prefix: str | None = None,
        filter: ToolFilter | None = None,
        timeout: float | None = 60.0,
        timeouts: Mapping[str, float] | None = None,
        startup_timeout: float | None = 30.0,
        requires_approval: MCPApprovalPolicy = False,
    ) -> MCPServer:
        """A server run as a subprocess, spoken to over its stdin and stdout.

        Args:
            command: The executable, e.g. "uvx", "npx" or `sys.executable`.
            args: Its arguments, e.g. ["mcp-server-fetch"].
            env: Environment variables for the process, over the few it inherits (HOME, PATH,
                SHELL, TERM, USER, LOGNAME): pass any secret the server needs explicitly.
            cwd: The working directory of the process (default: this process's).
            name: The server's name in errors and logs (default: the command line).
            prefix: Prepended to every tool name (e.g. "files_"), so two servers' tools cannot clash.
            filter: The server's tool names to expose, or a predicate on each `mcp.types.Tool`
                (e.g. `lambda t: bool(t.annotations and t.annotations.read_only_hint)`).
            timeout: Seconds each call may take before it becomes an error result (None: no limit).
            timeouts: Per-tool overrides of `timeout`, by the server's tool name.
            startup_timeout: Seconds to start the process and finish the MCP handshake.
            requires_approval: True to ask approval for every call, or a policy
                `(tool_name, arguments) -> bool` on the server's tool name.
        """
        params = StdioServerParameters(command=command, args=list(args), env=dict(env) if env else None, cwd=cwd)
        label = name or shlex.join([Path(command).name, *args])[:80]
        return cls(
            params,
            kind="stdio",
            name=label,
            prefix=prefix,
            filter=filter,
            timeout=timeout,
            timeouts=timeouts,
            startup_timeout=startup_timeout,
            requires_approval=requires_approval,
        )

    @classmethod
    def http(
        cls,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        name: str | None = None,
        prefix: str | None = None,
        filter: ToolFilter | None = None,
        timeout: float | None = 60.0,
        timeouts: Mapping[str, float] | None = None,
        startup_timeout: float | None = 30.0,
        requires_approval: MCPApprovalPolicy = False,
    ) -> MCPServer:
        """A server reached over streamable HTTP.

        Args:
            url: The server's MCP endpoint, e.g. "https://example.com/mcp".
            headers: HTTP headers sent with every request, e.g. {"Authorization": "Bearer ..."}.
            name: The server's name in errors and logs (default: the URL).
            prefix: Prepended to every tool name (e.g. "search_").
            filter: The server's tool names to expose, or a predicate on each `mcp.types.Tool`.
            timeout: Seconds each call may take before it becomes an error result (None: no limit).
            timeouts: Per-tool overrides of `timeout`, by the server's tool name.
            startup_timeout: Seconds to connect and finish the MCP handshake.
            requires_approval: True to ask approval for every call, or a policy
                `(tool_name, arguments) -> bool` on the server's tool name.
        """
        return cls(
            url,
            kind="http",
            name=name or url,
            headers=headers,
            prefix=prefix,
            filter=filter,
            timeout=timeout,
            timeouts=timeouts,
            startup_timeout=startup_timeout,
            requires_approval=requires_approval,
        )

    @classmethod
    def in_process(
        cls,
        server: Any,
        *,
        name: str | None = None,
        prefix: str | None = None,
        filter: ToolFilter | None = None,
        timeout: float | None = 60.0,
        timeouts: Mapping[str, float] | None = None,
        requires_approval: MCPApprovalPolicy = False,
    ) -> MCPServer:
        """A server object of the `mcp` package (`mcp.server.mcpserver.MCPServer` or a low-level
        `mcp.server.Server`) run in this process: for tests, and for tools you also serve over MCP.

        Args:
            server: The `mcp` server object.
            name: The server's name in errors and logs (default: the server's own name).
            prefix: Prepended to every tool name (e.g. "search_").
            filter: The server's tool names to expose, or a predicate on each `mcp.types.Tool`.
            timeout: Seconds each call may take before it becomes an error result (None: no limit).
            timeouts: Per-tool overrides of `timeout`, by the server's tool name.
            requires_approval: True to ask approval for every call, or a policy
                `(tool_name, arguments) -> bool` on the server's tool name.
        """
        return cls(
            server,
            kind="in-process",
            name=name or str(getattr(server, "name", "in-process")),
            prefix=prefix,
            filter=filter,
            timeout=timeout,
            timeouts=timeouts,
            startup_timeout=None,
            requires_approval=requires_approval,
        )

    def __repr__(self) -> str:
        state = f"{self._users} user{'s' * (self._users != 1)}" if self._users else "stopped"
        return f"<MCPServer {self.kind} {self.name!r} ({state})>"

    @property
    def running(self) -> bool:
        """Whether a session is open right now."""
        return self._connection is not None and self._connection.alive

    async def __aenter__(self) -> Self:
        """Start the server if this is its first user; share the running session otherwise.

        Raises:
            MCPServerError: The server could not be started, or the handshake timed out.
        """
        lock = self._bind_loop()
        async with lock:
            if self._users == 0:
                await self._start()
            self._users += 1
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Leave; the last user stops the server and waits until its process is reaped."""
        if self._lock is None or self._users == 0:
            raise MCPServerError(f"MCP server '{self.name}' was left more times than it was entered")
        with anyio.CancelScope(shield=True):
            async with self._lock:
                self._users -= 1
                if self._users == 0:
                    connection, self._connection, self._tools = self._connection, None, None
                    if connection is not None:
                        await connection.close()

    async def list_tools(self) -> list[Tool]:
        """The server's tools as agentkit `Tool`s: listed once per session, again after the server
        announces `tools/list_changed`. Call it inside `async with server:`.

        Raises:
            MCPServerError: The server is not entered, or listing its tools failed.
            ToolDefinitionError: Two of its tools get the same name once made valid for the API.
        """
        tools = self._tools
        if tools is not None:
            return list(tools)
        if self._users == 0 or self._list_lock is None:
            raise self._not_entered()
        async with self._list_lock:
            if self._tools is not None:
                return list(self._tools)
            generation = self._generation
            tools = self._build(await self._fetch())
            if generation == self._generation:
                self._tools = tools
        return list(tools)

    # -- the session ------------------------------------------------------------------------

    def _bind_loop(self) -> asyncio.Lock:
        """Locks belong to one event loop; `run_sync` makes a new loop per call, so rebind when idle."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # pragma: no cover - anyio on trio
            raise MCPServerError(f"MCP server '{self.name}' needs the asyncio event loop") from None
        if loop is not self._loop:
            if self._users:
                raise MCPServerError(
                    f"MCP server '{self.name}' is running in another event loop; "
                    "enter it from the loop that runs the agent"
                )
            self._loop, self._lock, self._list_lock = loop, asyncio.Lock(), asyncio.Lock()
            self._changed = asyncio.Event()
        assert self._lock is not None
        return self._lock

    async def _start(self) -> Connection:
        connection = Connection(self.name, self._client_factory(), self._tools_changed)
        try:
            await connection.start(self.startup_timeout)
        except TimeoutError:
            raise MCPServerError(
                f"MCP server '{self.name}' did not finish starting within {self.startup_timeout:g}s; "
                "check that the command runs on its own, or raise startup_timeout="
            ) from None
        except Exception as exc:
            cause = leaf(exc)
            raise MCPServerError(f"MCP server '{self.name}' could not be started: {describe(cause)}") from cause
        self._connection, self._tools = connection, None
        return connection

    async def _live(self) -> Connection:
        """The open session; a dead one (its process exited) is replaced while the server is entered."""
        connection = self._connection
        if connection is not None and connection.alive:
            return connection
        if self._users == 0 or self._lock is None:
            raise self._not_entered()
        async with self._lock:
            connection = self._connection
            if connection is not None and connection.alive:
                return connection
            if connection is not None:
                await connection.close()
            return await self._start()

    def _not_entered(self) -> MCPServerError:
        return MCPServerError(
            f"MCP server '{self.name}' is not running: use it inside `async with server:` "
            "(an agent run enters the servers among its tools by itself)"
        )

    def _client_factory(self) -> ClientFactory:
        target, headers = self._target, self._headers

        def factory(stack: AsyncExitStack, on_message: MessageHandlerFnT) -> AbstractAsyncContextManager[Client]:
            server = target
            if self.kind == "http":
                import httpx2
                from mcp.client.streamable_http import streamable_http_client

                http = httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30.0, read=300.0))
                stack.push_async_callback(http.aclose)
                server = streamable_http_client(str(target), http_client=http)
            return Client(server, message_handler=on_message, cache=None)

        return factory

    @property
    def tools_version(self) -> int:
        """How many times the server has announced `tools/list_changed` since this object was made."""
        return self._generation

    async def tools_changed(self, after: int) -> int:
        """Wait until the server announces a change of its tool list after `tools_version` was `after`;
        returns the new `tools_version`. The next `list_tools()` fetches the new list."""
        while self._generation <= after:
            await self._changed.wait()
        return self._generation

    def _tools_changed(self) -> None:
        self._generation += 1
        self._tools = None
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def _fetch(self) -> list[mcp_types.Tool]:
        """Every page of `tools/list`; a session found dead is restarted once."""
        for attempt in (1, 2):
            connection = await self._live()
            try:
                return await _list_all(connection)
            except MCPError as exc:
                if exc.code != CONNECTION_CLOSED or attempt == 2:
                    raise MCPServerError(f"MCP server '{self.name}' could not list its tools: {exc}") from exc
                await connection.close()
            except Exception as exc:
                cause = leaf(exc)
                raise MCPServerError(f"MCP server '{self.name}' could not list its tools: {describe(cause)}") from exc
        raise AssertionError("unreachable")  # pragma: no cover

    # -- tools --------------------------------------------------------------------------------

    def _build(self, listed: list[mcp_types.Tool]) -> list[Tool]:
        tools: list[Tool] = []
        seen: dict[str, str] = {}
        for spec in listed:
            if self._filter is not None and not self._filter(spec):
                continue
            api_name = _convert.api_name(self.prefix, spec.name)
            if api_name in seen:
                raise ToolDefinitionError(
                    f"MCP server '{self.name}' lists tools '{seen[api_name]}' and '{spec.name}', which both "
                    f"become '{api_name}' for the API; expose one with filter="
                )
            schema = _convert.input_schema(spec.input_schema)
            try:
                validator = _convert.make_validator(schema)
            except _convert.SchemaError as exc:  # the API would refuse the request: leave the tool out
                _warn("mcp_tool_schema_invalid", server=self.name, tool=spec.name, error=exc.message)
                continue
            seen[api_name] = spec.name
            handler = functools.partial(self._call, spec.name, api_name, validator)
            description = spec.description or getattr(spec, "title", None) or ""
            timeout = self._timeouts.get(spec.name, self.timeout)
            tools.append(Tool.from_schema(api_name, description, schema, handler, timeout=timeout, **self._flags(spec)))
        return tools

    def _flags(self, spec: mcp_types.Tool) -> dict[str, Any]:
        """The approval and idempotence of one tool (see `agentkit.hooks`); every call is durable."""
        policy = self._approval
        approval = functools.partial(policy, spec.name) if callable(policy) else policy
        hints = spec.annotations
        idempotent = bool(hints and (hints.read_only_hint or hints.idempotent_hint))
        return {"requires_approval": approval, "idempotent": idempotent}

    async def _call(
        self, mcp_name: str, api_name: str, validator: Any, arguments: dict[str, Any], ctx: RunContext[Any]
    ) -> str | list[dict[str, Any]]:
        problem = _convert.check_arguments(validator, arguments, api_name)
        if problem is not None:
            raise ToolError(problem)
        try:
            connection = await self._live()
        except MCPServerError as exc:
            raise ToolError(str(exc)) from None
        client = connection.client
        if client is None:
            raise ToolError(f"MCP server '{self.name}' stopped; call the tool again to restart it.")
        try:
            result = await client.call_tool(mcp_name, arguments)
        except MCPError as exc:
            if exc.code == CONNECTION_CLOSED:
                await connection.close()  # reap the process now; the next call starts a new one
                raise ToolError(
                    f"MCP server '{self.name}' stopped during the call to '{api_name}' (connection closed); "
                    "it is restarted if the tool is called again."
                ) from None
            raise ToolError(
                f"MCP server '{self.name}' refused the call to '{api_name}': {exc} (code {exc.code})"
            ) from None
        except Exception as exc:  # a result the client rejects (e.g. it breaks the tool's output schema)
            raise ToolError(f"MCP server '{self.name}', tool '{api_name}': {describe(leaf(exc))}") from None
        # A `tools/list_changed` the server sent before this answer is queued for the listener task
        # already: let it run, so the next turn's listing (right after this call) sees the change.
        await anyio.lowlevel.checkpoint()
        if result.is_error:
            raise ToolError(_convert.error_message(result.content, result.structured_content, api_name))
        return _convert.to_content(result.content, result.structured_content)


async def _list_all(connection: Connection) -> list[mcp_types.Tool]:
    client = connection.client
    if client is None:
        raise MCPError(CONNECTION_CLOSED, "Connection closed")
    listed: list[mcp_types.Tool] = []
    cursor: str | None = None
    for _ in range(100):  # a server whose cursor never ends cannot hang the run
        page = await client.list_tools(cursor=cursor)
        listed += page.tools
        cursor = page.next_cursor
        if cursor is None:
            break
    return listed


def _as_filter(value: ToolFilter | None) -> Callable[[mcp_types.Tool], bool] | None:
    if value is None or callable(value):
        return value
    if isinstance(value, str):
        raise ToolDefinitionError(f"filter= takes a list of tool names or a function, not the string {value!r}")
    names = frozenset(value)
    return lambda spec: spec.name in names
