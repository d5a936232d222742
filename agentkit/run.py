"""One run's setup and teardown, and the drivers of the entry points.

Setup chooses what the run uses, never by changing the agent: the client (the agent's, the
`async with agent:` block's, or one made for this run and closed after it), the session store
and its lock, the toolsets (entered for the run), and the history to start from, checked
before anything is sent. The loop (`agentkit._loop.loop`) then runs on a `RunInput`.

`run`, `extract` and `resume` consume the loop for its result; `stream` hands its events to
the caller; the `*_sync` twins drive the same from a script.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, aclosing, asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import anyio

from ._history import History
from .errors import ConfigurationError, InputError
from .result import RunEvent, RunFinished, RunResult, RunStream

if TYPE_CHECKING:
    import anthropic
    from anthropic.types import MessageParam
    from anyio.from_thread import BlockingPortal

    from ._loop.state import RunInput
    from .agent import Agent, Prompt
    from .hooks import Approval, RunHooks
    from .output import OutputSpec
    from .sessions import SessionStore
    from .settings import AgentSettings
    from .tools import Toolset


@dataclass(frozen=True)
class RunRequest:
    """What an entry point asks for: the agent's settings as of the call, and the run's input."""

    agent: Agent[Any]
    settings: AgentSettings
    prompt: Prompt | None
    variables: dict[str, Any]
    history: Sequence[MessageParam] | None
    deps: Any
    session: str | None
    output: OutputSpec[Any] | None
    stream: bool = False
    hooks: RunHooks | None = None
    approvals: dict[str, Approval] = field(default_factory=dict)
    scope: Scope | None = None


class Scope:
    """An `async with agent:` block: one client and the toolsets kept open for its runs."""

    def __init__(self, client: anthropic.AsyncAnthropic, owned: bool, stack: AsyncExitStack) -> None:
        self.client, self._owned, self._stack = client, owned, stack

    async def aclose(self) -> None:
        try:
            await self._stack.aclose()
        finally:
            if self._owned:
                await self.client.close()


async def enter_scope(settings: AgentSettings, toolsets: Sequence[Toolset]) -> Scope:
    """Open the client and toolsets an `async with agent:` block keeps for its runs."""
    client, owned = (settings.client, False) if settings.client is not None else (default_client(), True)
    stack = AsyncExitStack()
    try:
        for toolset in toolsets:
            await stack.enter_async_context(toolset)
    except BaseException:
        await stack.aclose()
        if owned:
            await client.close()
        raise
    return Scope(client, owned, stack)


def default_client() -> anthropic.AsyncAnthropic:
    """A client from the environment (`ANTHROPIC_API_KEY`, `ANTHROPIC_BASE_URL`)."""
    from ._client import default_client  # issue 18: MissingAPIKey, not the SDK's TypeError, when no key is set

    return default_client()


@asynccontextmanager
async def open_run(request: RunRequest) -> AsyncIterator[RunInput]:
    """The input of one run, with everything it holds (client, session lock, toolsets) released after."""
    from ._loop.prepare import user_message
    from ._loop.state import RunInput
    from ._telemetry._sdk import untraced

    settings = request.settings
    settings.check_request()
    if request.prompt is None and request.session is None:
        raise ConfigurationError("resume() needs session=; a run without a session keeps no history to resume")
    if request.session is not None and request.history:
        raise ConfigurationError(
            f"Pass history= or session={request.session!r}, not both: a session keeps its own history"
        )
    from ._checks import check_history, check_prompt, find_surrogate

    if request.prompt is not None:
        check_prompt(request.prompt)
    if request.history:
        check_history(request.history)
    if (found := find_surrogate(request.variables, "vars")) is not None:
        where, index, char = found
        raise InputError(
            f"{where}: character {index} is {char!r}, a lone surrogate that is not valid Unicode text; "
            "decode the input with errors='replace' or drop the character"
        )
    prompt = user_message(request.prompt) if request.prompt is not None else None
    async with AsyncExitStack() as stack:
        if request.scope is not None:
            client = request.scope.client
        elif settings.client is not None:
            client = settings.client
        else:
            client = default_client()
            stack.push_async_callback(client.close)
        telemetry = settings.telemetry
        if telemetry is None or not telemetry.sdk_spans:
            client = untraced(client)  # agentkit's chat span replaces the SDK's own (see _telemetry/_sdk.py)
        if request.scope is None:
            for toolset in request.agent.toolsets:
                await stack.enter_async_context(toolset)
        journal: Journal = Journal()
        if request.session is None:
            messages = History([*(request.history or ()), *([prompt] if prompt is not None else [])])
            if isinstance(request.history, History):
                messages.anchor = request.history.anchor  # the last run's exact count goes on with it
        else:
            store = settings.session_store or _default_store()
            journal = await stack.enter_async_context(_held(store, request.session))
            saved = await store.load(request.session)
            if prompt is not None:
                messages = History([*saved, prompt])
            elif saved:
                messages = History(saved)
            else:
                raise ConfigurationError(
                    f"Session {request.session!r} has no unfinished run to resume; run() it with a prompt"
                )
        yield RunInput(
            agent=request.agent,
            settings=settings,
            client=client,
            messages=messages,
            variables=request.variables,
            deps=request.deps,
            output=request.output,
            stream=request.stream,
            journal=journal,
            conversation_id=request.session,
            hooks=request.hooks,
            approvals=request.approvals,
            resuming=request.prompt is None,
        )


class Journal:
    """Where a run records its progress: a session, or nowhere (the base class)."""

    async def save(self, messages: list[MessageParam]) -> None:
        """The history as it stands; called after each model turn and each tool result."""

    async def started(self, call_ids: Sequence[str]) -> None:
        """These tool calls are about to run."""

    async def unfinished(self) -> set[str] | None:
        """Calls a crashed run started and never finished; None when the store cannot tell."""
        return set()


class _SessionJournal(Journal):
    def __init__(self, store: SessionStore, session: str) -> None:
        self.store, self.session = store, session

    async def save(self, messages: list[MessageParam]) -> None:
        await self.store.save(self.session, list(messages))

    async def started(self, call_ids: Sequence[str]) -> None:
        mark = getattr(self.store, "mark_started", None)
        if mark is not None:
            await mark(self.session, list(call_ids))

    async def unfinished(self) -> set[str] | None:
        read = getattr(self.store, "unfinished", None)
        return set(await read(self.session)) if read is not None else None


@asynccontextmanager
async def _held(store: SessionStore, session: str) -> AsyncIterator[Journal]:
    owner = uuid.uuid4().hex
    await store.acquire(session, owner)
    try:
        yield _SessionJournal(store, session)
    finally:
        with anyio.CancelScope(shield=True):
            await store.release(session, owner)


def _default_store() -> SessionStore:
    from .sessions import SQLiteSessionStore

    return SQLiteSessionStore()


async def result_of(run: RunInput) -> RunResult[Any]:
    """Drive the loop to its end and return the result."""
    from ._loop.loop import run_events

    async with aclosing(run_events(run)) as events:
        async for event in events:
            if isinstance(event, RunFinished):
                return event.result
    raise AssertionError("the run loop ended without a result")  # pragma: no cover


@asynccontextmanager
async def streaming(request: RunRequest) -> AsyncIterator[RunStream]:
    """The loop's events for the caller to iterate; leaving early closes the loop, which stops the run."""
    from ._loop.loop import run_events

    async with open_run(request) as run, aclosing(run_events(run)) as events:
        yield RunStream(events, run.messages)


@contextmanager
def blocking_stream(stream: AbstractAsyncContextManager[RunStream]) -> Iterator[Iterator[RunEvent]]:
    """A stream driven from a script, through an event loop in a worker thread."""
    from anyio.from_thread import start_blocking_portal

    with start_blocking_portal() as portal, portal.wrap_async_context_manager(stream) as run:
        yield _blocking_iter(portal, run)


def _blocking_iter(portal: BlockingPortal, run: RunStream) -> Iterator[RunEvent]:
    while True:
        try:
            yield portal.call(run.__anext__)
        except StopAsyncIteration:
            return


def refuse_running_loop(method: str, instead: str) -> None:
    """A sync entry point inside an event loop would block it; say what to call instead."""
    import asyncio  # here, not at import: `from agentkit import Agent` need not load asyncio

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    raise RuntimeError(f"Agent.{method}() was called inside a running event loop; use `{instead}` there")


__all__ = ["Journal", "RunRequest", "Scope", "default_client", "open_run", "result_of", "streaming"]
