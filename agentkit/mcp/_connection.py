"""One live MCP session, owned by a background task.

The `mcp` client's transports open anyio task groups and cancel scopes, which must be exited by the
task that entered them. A toolset shared by concurrent runs is entered by one run and may be left
last by another (pydantic-ai and ADK users report "Attempted to exit cancel scope in a different
task" exactly there), so no run task ever enters the client: a task of its own does, serves
requests until told to stop, then closes the transport (the stdio transport closes stdin, waits,
then kills and reaps the process tree) and ends. Requests from any task go through `client`.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from typing import Any

import anyio
from mcp import Client
from mcp.client.session import MessageHandlerFnT
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

ClientFactory = Callable[[AsyncExitStack, MessageHandlerFnT], AbstractAsyncContextManager[Client]]
"""Builds the `mcp.Client` (entering anything it needs, an HTTP client, onto the stack first);
its argument is the message handler to install."""


class Connection:
    """A started (or starting) session; `client` is valid while `alive`."""

    def __init__(self, label: str, factory: ClientFactory, on_tools_changed: Callable[[], None]) -> None:
        self.label = label
        self.client: Client | None = None
        self.alive = False
        self._factory = factory
        self._on_tools_changed = on_tools_changed
        self._task: asyncio.Task[None] | None = None
        self._ready: asyncio.Future[None] | None = None
        self._stop = asyncio.Event()

    async def start(self, timeout: float | None) -> None:  # noqa: ASYNC109 - the handshake's own limit
        """Connect (spawn the process, or open the HTTP session) and finish the MCP handshake.

        Raises:
            TimeoutError: The server did not finish the handshake within `timeout` seconds.
            Exception: Whatever starting the server raised (OSError for a missing command, ...).
        """
        loop = asyncio.get_running_loop()
        self._ready = loop.create_future()
        self.alive = True
        self._task = loop.create_task(self._own(), name=f"agentkit MCP server {self.label}")
        try:
            with anyio.fail_after(timeout):
                await asyncio.shield(self._ready)
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        """Stop the session and wait until the transport is closed (the process reaped). Idempotent,
        and finishes even when the caller is being cancelled."""
        self.alive = False
        self._stop.set()
        task = self._task
        if task is None:
            return
        if self._ready is not None and not self._ready.done():
            task.cancel()  # still connecting: nothing to shut down gracefully yet
        with anyio.CancelScope(shield=True):
            await asyncio.wait([task])

    async def _own(self) -> None:
        assert self._ready is not None
        try:
            async with AsyncExitStack() as stack:
                client = await stack.enter_async_context(self._factory(stack, self._message))
                self.client = client
                async with anyio.create_task_group() as group:
                    if _announces_changes(client):
                        group.start_soon(self._listen, client)
                    if not self._ready.done():
                        self._ready.set_result(None)
                    await self._stop.wait()
                    group.cancel_scope.cancel()
        except asyncio.CancelledError:
            if not self._ready.done():
                self._ready.set_exception(TimeoutError(f"MCP server {self.label} was stopped while starting"))
        except Exception as exc:  # the owner task must end quietly; the error goes to whoever waits
            if not self._ready.done():
                self._ready.set_exception(exc)
            else:
                _warn("mcp_server_session_failed", server=self.label, error=repr(exc))
        finally:
            self.alive = False
            self.client = None

    async def _message(self, message: Any) -> None:
        """Server notifications of a handshake-era session (2025-11-25 and before)."""
        if getattr(message, "method", None) == "notifications/tools/list_changed":
            self._on_tools_changed()

    async def _listen(self, client: Client) -> None:
        """A 2026-07-28 session announces tool changes on a `subscriptions/listen` stream."""
        try:
            async with client.listen(tools_list_changed=True) as subscription:
                async for _event in subscription:
                    self._on_tools_changed()
        except Exception as exc:  # a lost stream must not end the session; forget the list to be safe
            self._on_tools_changed()
            if self.alive:
                _warn("mcp_server_listen_lost", server=self.label, error=repr(exc))


def _announces_changes(client: Client) -> bool:
    tools = client.server_capabilities.tools
    return client.protocol_version in MODERN_PROTOCOL_VERSIONS and bool(tools and tools.list_changed)


def _warn(event: str, **fields: Any) -> None:
    """Log through structlog once the application has configured it: a library must not print."""
    structlog = sys.modules.get("structlog")
    if structlog is not None and structlog.is_configured():
        structlog.get_logger("agentkit.mcp").warning(event, **fields)


def leaf(exc: BaseException) -> BaseException:
    """The one real error inside anyio's exception groups."""
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return exc


def describe(exc: BaseException) -> str:
    if isinstance(exc, FileNotFoundError):
        return f"no such command or file ({exc.filename or exc}); check `command` and PATH"
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
