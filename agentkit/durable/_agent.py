"""`DurableAgent`: an agent whose runs are DBOS workflows, in this process or on a queue's workers.

One workflow function (`agentkit.run`) serves every durable agent: it finds its agent by name and
runs the agent's ordinary loop with the hooks of `_steps`. The workflow's input is the run's
request (prompt, vars, history, deps, the trace context); its output is the `RunResult`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import uuid
import weakref
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import anyio

from ..errors import ConfigurationError
from . import _engine, _trace
from ._steps import ModelRetries, durable_hooks

if TYPE_CHECKING:
    import asyncio

    import anthropic
    from anthropic.types import MessageParam
    from anyio.streams.memory import MemoryObjectSendStream

    from ..agent import Agent, Prompt
    from ..result import RunEvent, RunResult

__all__ = ["DurableAgent", "DurableRun"]

WORKFLOW = "agentkit.run"

# Live listeners of streamed runs started in this process, by run id. A run recovered elsewhere
# has none: its events are not streamed, only its result is kept.
_listeners: dict[str, MemoryObjectSendStream[RunEvent]] = {}


@dataclass
class DurableRun:
    """A durable run started or enqueued: its id, and its result once it finishes.

    The id is the DBOS workflow id: `agentkit approve RUN_ID ...` and `DurableAgent.result` take it.
    """

    run_id: str
    _handle: Any = field(repr=False)

    async def result(self) -> RunResult[Any]:
        """Wait for the run to finish (in any process) and return its result, or raise its error."""
        result: RunResult[Any] = await self._handle.get_result()
        return result

    async def status(self) -> str:
        """The DBOS status: ENQUEUED, PENDING, SUCCESS, ERROR, CANCELLED..."""
        status = await self._handle.get_status()
        return str(status.status)


class DurableAgent:
    """Runs of `agent` as durable workflows: every model call and tool call a checkpointed step.

    ```python
    durable = DurableAgent(agent)          # at import time, before launch()
    launch()                                # SQLite in the state directory, or launch("postgresql://...")
    result = durable.run_sync("Weather in Paris?")
    ```

    A run killed part-way (a deploy, an OOM kill) finishes when its executor launches again, or on
    another worker: completed model calls and tool calls are not repeated, usage is counted once.

    Args:
        agent: The agent; its settings, tools and client are used as they are.
        name: The name runs find their agent by (default the agent's name); unique per process.
        model_retries: How a model call's step retries failed requests (the SDK's own are off).
        approval_timeout: Seconds a call that needs approval waits for a decision before it is
            denied; None waits until one comes (days if need be).
    """

    def __init__(
        self,
        agent: Agent,
        *,
        name: str | None = None,
        model_retries: ModelRetries | None = None,
        approval_timeout: float | None = None,
    ) -> None:
        self.agent = agent
        self.name = name or agent.name
        self.model_retries = model_retries or ModelRetries()
        self.approval_timeout = approval_timeout
        self.fingerprint = _fingerprint(agent, self.name)
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, anthropic.AsyncAnthropic] = (
            weakref.WeakKeyDictionary()
        )
        _engine.register(self)

    def __repr__(self) -> str:
        return f"DurableAgent({self.agent!r}, name={self.name!r})"

    # -- entry points ------------------------------------------------------------------------

    async def run(
        self,
        prompt: Prompt,
        *,
        vars: dict[str, Any] | None = None,
        history: Sequence[MessageParam] | None = None,
        deps: Any = None,
        run_id: str | None = None,
    ) -> RunResult[Any]:
        """Run the agent as a durable workflow in this process and return its result.

        Args:
            prompt: The user's prompt, as for `Agent.run`.
            vars: Template variables over the agent's defaults.
            history: Earlier `RunResult.messages` to go on from.
            deps: Reach tools through `RunContext.deps`; stored with the run, so picklable.
            run_id: The workflow id. A run id already used returns that run's result instead
                of starting a second run, so a retried request cannot run the agent twice.
        """
        started = await self.start(prompt, vars=vars, history=history, deps=deps, run_id=run_id)
        return await started.result()

    def run_sync(
        self,
        prompt: Prompt,
        *,
        vars: dict[str, Any] | None = None,
        history: Sequence[MessageParam] | None = None,
        deps: Any = None,
        run_id: str | None = None,
    ) -> RunResult[Any]:
        """`run` for scripts: starts an event loop, so it cannot be called from inside one.

        Args:
            prompt: The user's prompt.
            vars: Template variables over the agent's defaults.
            history: Earlier `RunResult.messages` to go on from.
            deps: Reach tools through `RunContext.deps`; picklable.
            run_id: The workflow id (see `run`).
        """

        async def main() -> RunResult[Any]:
            return await self.run(prompt, vars=vars, history=history, deps=deps, run_id=run_id)

        return anyio.run(main)

    @asynccontextmanager
    async def stream(
        self,
        prompt: Prompt,
        *,
        vars: dict[str, Any] | None = None,
        history: Sequence[MessageParam] | None = None,
        deps: Any = None,
        run_id: str | None = None,
    ) -> AsyncIterator[AsyncIterator[RunEvent]]:
        """Run durably, streaming the run's events: `async with durable.stream(p) as events: ...`.

        A model call's text arrives when its step is done (a checkpointed step cannot stream its
        deltas live). Leaving the block early stops the streaming, not the run: it goes on and
        its result stays in the database (`DurableAgent.result(run_id)`).

        Args:
            prompt: The user's prompt.
            vars: Template variables over the agent's defaults.
            history: Earlier `RunResult.messages` to go on from.
            deps: Reach tools through `RunContext.deps`; picklable.
            run_id: The workflow id (see `run`).
        """
        from ..result import RunEvent, RunFinished

        run_id = run_id or uuid.uuid4().hex
        send, receive = anyio.create_memory_object_stream[RunEvent](max_buffer_size=1024)
        _listeners[run_id] = send
        try:
            started = await self.start(prompt, vars=vars, history=history, deps=deps, run_id=run_id, stream=True)

            async def close_when_done() -> None:
                with contextlib.suppress(Exception):  # the error is raised to the caller by events()
                    await started.result()
                send.close()  # what is buffered is still read

            async def events() -> AsyncIterator[RunEvent]:
                finished = False
                async for event in receive:
                    finished = finished or isinstance(event, RunFinished)
                    yield event
                if not finished:  # the run failed, or had finished before (a run_id used again)
                    yield RunFinished(await started.result())

            async with anyio.create_task_group() as group:
                group.start_soon(close_when_done)
                yield events()
                group.cancel_scope.cancel()
        finally:
            _listeners.pop(run_id, None)
            send.close()

    async def start(
        self,
        prompt: Prompt,
        *,
        vars: dict[str, Any] | None = None,
        history: Sequence[MessageParam] | None = None,
        deps: Any = None,
        run_id: str | None = None,
        stream: bool = False,
    ) -> DurableRun:
        """Start a durable run in this process and return at once; `await run.result()` waits.

        Args:
            prompt: The user's prompt.
            vars: Template variables over the agent's defaults.
            history: Earlier `RunResult.messages` to go on from.
            deps: Reach tools through `RunContext.deps`; picklable.
            run_id: The workflow id (see `run`).
            stream: Forward the run's events to a `stream()` listener of this process.
        """
        from dbos import DBOS, SetWorkflowID

        _engine.engine()
        request = self._request(prompt, vars, history, deps, stream)
        run_id = run_id or uuid.uuid4().hex
        with SetWorkflowID(run_id):
            handle = await DBOS.start_workflow_async(_run_workflow, self.name, request)
        return DurableRun(run_id, handle)

    async def enqueue(
        self,
        prompt: Prompt,
        *,
        vars: dict[str, Any] | None = None,
        history: Sequence[MessageParam] | None = None,
        deps: Any = None,
        run_id: str | None = None,
        queue: str = _engine.DEFAULT_QUEUE,
    ) -> DurableRun:
        """Put a run on a DBOS queue: a worker of any process on the same database runs it.

        The queue's concurrency limits (see `launch(queues=...)`) bound how many run at once.

        Args:
            prompt: The user's prompt.
            vars: Template variables over the agent's defaults.
            history: Earlier `RunResult.messages` to go on from.
            deps: Reach tools through `RunContext.deps`; picklable.
            run_id: The workflow id (see `run`).
            queue: The queue's name (declared at `launch`).
        """
        from dbos import DBOS, SetWorkflowID

        engine = _engine.engine()
        if queue not in engine.queues:
            declared = ", ".join(sorted(engine.queues))
            raise ConfigurationError(
                f"No queue named {queue!r} (declared: {declared}); declare it with "
                f"agentkit.durable.launch(queues={{{queue!r}: CONCURRENCY}})"
            )
        request = self._request(prompt, vars, history, deps, False)
        run_id = run_id or uuid.uuid4().hex
        with SetWorkflowID(run_id):
            handle = await DBOS.enqueue_workflow_async(queue, _run_workflow, self.name, request)
        return DurableRun(run_id, handle)

    @staticmethod
    async def result(run_id: str) -> RunResult[Any]:
        """The result of the durable run `run_id`, waiting for it to finish if it has not.

        Args:
            run_id: The run's id (`DurableRun.run_id`, `RunResult.run_id`).
        """
        from dbos import DBOS

        _engine.engine()
        handle: Any = await DBOS.retrieve_workflow_async(run_id)
        result: RunResult[Any] = await handle.get_result()
        return result

    # -- the workflow's body -----------------------------------------------------------------

    def _request(
        self,
        prompt: Prompt,
        vars: dict[str, Any] | None,
        history: Sequence[MessageParam] | None,
        deps: Any,
        stream: bool,
    ) -> dict[str, Any]:
        return run_request(self.name, prompt, vars, history, deps, stream)

    async def _execute(self, request: dict[str, Any], run_id: str) -> RunResult[Any]:
        from ..result import RunFinished

        inner = self.agent
        hooks = durable_hooks(retries=self.model_retries, approval_timeout=self.approval_timeout, run_id=run_id)
        args = {"vars": request["vars"], "history": request["history"], "deps": request["deps"], "hooks": hooks}
        # The run's client never retries: each step retries for it (see _steps).
        with _trace.attached(request["trace"]), inner.override(client=self._client()):
            listener = _listeners.get(run_id) if request["stream"] else None
            result: RunResult[Any] | None = None
            if listener is None:
                result = await inner.run(request["prompt"], **args)
            else:
                async with inner.stream(request["prompt"], **args) as run:
                    async for event in run:
                        if isinstance(event, RunFinished):
                            result = event.result
                        else:
                            await _forward(listener, event)
                assert result is not None
                await _forward(listener, RunFinished(result))
        assert result is not None
        return result

    def _client(self) -> anthropic.AsyncAnthropic:
        import asyncio

        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            if self.agent.client is not None:
                client = self.agent.client.with_options(max_retries=0)
            else:
                import anthropic

                client = anthropic.AsyncAnthropic(max_retries=0)  # one per event loop: its pool is tied to it
            self._clients[loop] = client
        return client


def run_request(
    agent_name: str,
    prompt: Prompt,
    vars: dict[str, Any] | None,
    history: Sequence[MessageParam] | None,
    deps: Any,
    stream: bool,
) -> dict[str, Any]:
    """The workflow's input: what the run needs to start, or to start over on recovery."""
    return {
        "prompt": prompt if isinstance(prompt, str) else list(prompt),
        "vars": dict(vars or {}),
        "history": list(history) if history else None,
        "deps": deps,
        "stream": stream,
        "trace": _trace.carrier(agent_name),
    }


async def _forward(listener: MemoryObjectSendStream[RunEvent], event: RunEvent) -> None:
    with contextlib.suppress(anyio.BrokenResourceError, anyio.ClosedResourceError):  # the caller left; the run goes on
        await listener.send(event)


def _fingerprint(agent: Agent, name: str) -> str:
    """What a recorded run depends on: a change here means old runs must not replay on this code."""
    prompt = agent.system_prompt
    tools = [
        {"name": t.name, "schema": t.input_schema, "durable": getattr(t, "durable", True)}
        for t in agent.toolset.values()
    ]
    data = {
        "name": name,
        "model": agent.model,
        "system": prompt.source if prompt is not None else "",
        "tools": tools,
        "output": repr(agent.output_type),
        "max_turns": agent.max_turns,
    }
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=repr).encode()).hexdigest()


def _register_workflow() -> Any:
    from dbos import DBOS

    @DBOS.workflow(name=WORKFLOW)
    async def run_workflow(agent_name: str, request: dict[str, Any]) -> RunResult[Any]:
        run_id = DBOS.workflow_id
        assert run_id is not None
        return await _engine.agent_named(agent_name)._execute(request, run_id)

    return run_workflow


_run_workflow = _register_workflow()
