"""How the entry points of `Agent` start, consume and end one run of the loop.

`run`, `extract` and `resume` consume the loop for its result; `stream` hands its events to the
caller; `*_sync` drive the same from a script. A session wraps a run: lock, load, save per turn.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import AbstractAsyncContextManager, aclosing, asynccontextmanager, contextmanager
from typing import TYPE_CHECKING, Any

import anyio

from .errors import ConfigurationError
from .result import RunEvent, RunFinished, RunResult, RunStream

if TYPE_CHECKING:
    import anthropic
    from anthropic.types import MessageParam
    from anyio.from_thread import BlockingPortal

    from ._pipeline import RunInput
    from .agent import Agent, Prompt
    from .output import OutputSpec


@asynccontextmanager
async def begin_run(
    agent: Agent,
    client: anthropic.AsyncAnthropic,
    prompt: Prompt | None,
    *,
    variables: dict[str, Any],
    history: Sequence[MessageParam] | None,
    deps: Any,
    session: str | None,
    output: OutputSpec[Any] | None,
    stream: bool,
) -> AsyncIterator[RunInput]:
    """The input of one run; with a session, the session is held for the run and saved per turn."""
    from ._pipeline import RunInput
    from ._pipeline.build import user_message

    def start(messages: list[MessageParam], checkpoint: Any = None) -> RunInput:
        return RunInput(
            agent,
            client,
            messages,
            variables,
            deps,
            output,
            stream=stream,
            checkpoint=checkpoint,
            conversation_id=session,
        )

    if session is None:
        if prompt is None:
            raise ConfigurationError("resume() needs session=; a run without a session keeps no history to resume")
        yield start([*(history or ()), user_message(prompt)])
        return
    if history:
        raise ConfigurationError(f"Pass history= or session={session!r}, not both: a session keeps its own history")
    store = agent.session_store
    if store is None:
        from .sessions import SQLiteSessionStore

        store = agent.session_store = SQLiteSessionStore()
    owner = uuid.uuid4().hex
    await store.acquire(session, owner)
    try:
        saved = await store.load(session)
        if prompt is not None:
            messages = [*saved, user_message(prompt)]
        elif saved and saved[-1]["role"] == "user":
            messages = saved
        else:
            raise ConfigurationError(f"Session {session!r} has no unfinished run to resume; run() it with a prompt")

        async def checkpoint(history: list[MessageParam]) -> None:
            await store.save(session, list(history))

        yield start(messages, checkpoint)
    finally:
        with anyio.CancelScope(shield=True):
            await store.release(session, owner)


async def result_of(run: RunInput) -> RunResult[Any]:
    """Drive the loop to its end and return the result."""
    from ._pipeline import run_events

    async with aclosing(run_events(run)) as events:
        async for event in events:
            if isinstance(event, RunFinished):
                return event.result
    raise AssertionError("the run loop ended without a result")  # pragma: no cover


@asynccontextmanager
async def streaming(begin: AbstractAsyncContextManager[RunInput]) -> AsyncIterator[RunStream]:
    """The loop's events for the caller to iterate; leaving early closes the loop, which cancels the run."""
    from ._pipeline import run_events

    async with begin as run, aclosing(run_events(run)) as events:
        yield RunStream(events, run.messages)


@contextmanager
def blocking_stream(stream: AbstractAsyncContextManager[RunStream], agent: Agent) -> Iterator[Iterator[RunEvent]]:
    """A stream driven from a script, through an event loop in a worker thread."""
    from anyio.from_thread import start_blocking_portal

    with start_blocking_portal() as portal:
        try:
            with portal.wrap_async_context_manager(stream) as run:
                yield _blocking_iter(portal, run)
        finally:
            portal.call(agent.aclose)


def _blocking_iter(portal: BlockingPortal, run: RunStream) -> Iterator[RunEvent]:
    while True:
        try:
            yield portal.call(run.__anext__)
        except StopAsyncIteration:
            return


def refuse_running_loop(method: str, instead: str) -> None:
    """A sync entry point inside an event loop would block it; say what to call instead."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    raise RuntimeError(f"Agent.{method}() was called inside a running event loop; use `{instead}` there")
