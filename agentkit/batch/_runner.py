"""`run_batch`: every input a whole agent run, each turn of all runs in one Message Batch.

Each input runs through the agent's own loop (`Agent.run`, or `Agent.resume` for a resumed
run), with a `model_call` hook that never calls `send()`: it hands the request to the job's
coordinator (`_coordinator.py`) and returns the batch result's `Message`. The runs' histories
are saved after every completed turn through a session store of the job's own (`_store.py`), so
a killed job resumes from them.
"""

from __future__ import annotations

import dataclasses
import math
import secrets
from collections.abc import AsyncIterator, Callable, Collection, Iterable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import anyio

from ..errors import ConfigurationError
from ..hooks import RunHooks
from ..usage import Price, Usage, UsageLimits
from ._coordinator import Coordinator, Polling
from ._cost import Spend
from ._inputs import BatchInput, BatchItem, BatchProgress, BatchResult, InputLike, deps_by_index, normalise, saved_input
from ._outcomes import dump_outcome, load_outcome
from ._store import JobStore, StoredRun, default_path

if TYPE_CHECKING:
    from anthropic.types import Message, MessageParam

    from ..agent import Agent
    from ..sessions import SessionStore

__all__ = [
    "BatchInput",
    "BatchItem",
    "BatchProgress",
    "BatchResult",
    "BatchStream",
    "run_batch",
    "run_batch_sync",
    "stream_batch",
]


async def run_batch(
    agent: Agent[Any],
    inputs: Iterable[InputLike] | None = None,
    *,
    vars: Mapping[str, Any] | None = None,
    deps: Any = None,
    resume: str | None = None,
    job_id: str | None = None,
    store: str | Path | JobStore | None = None,
    polling: Polling | None = None,
    max_resubmits: int = 3,
    usage_limits: UsageLimits | None = None,
    max_cost: float | None = None,
    prices: Mapping[str, Price] | None = None,
    cache_ttl: Literal["5m", "1h"] | None = "1h",
    warm_cache: bool = True,
    cache_history: bool = False,
    on_progress: Callable[[BatchProgress], None] | None = None,
) -> BatchResult:
    """Run `agent` on every input through the Message Batches API; the outcomes in input order.

    Each input is a whole agent run (tools, typed output, continuation, memory as live); each turn
    of all runs goes into one batch. One input failing never stops the others: its item carries the
    error. A killed job resumes with `resume=job_id`, re-attaching to the batches it had in flight.

    Args:
        agent: The agent to run; its client sends the batches.
        inputs: Prompts (ids "0", "1", ...), `BatchInput`s, mappings with `id`, `prompt`, `vars`,
            `history`, `deps`, or `agentkit.fanout.Job`s. May be left out on resume (needed again
            only for per-input `deps`).
        vars: Template variables for every input (an input's own win).
        deps: Dependencies for every input without its own (not saved: pass them again to resume).
        resume: The id of a job to resume.
        job_id: The id of a new job (default: a random `batch_...` id).
        store: The job file, or a `JobStore` (default: `batches.sqlite3` beside the session store).
        polling: How often the batches in flight are checked (default `Polling()`).
        max_resubmits: How often a request that errored retryably, expired or was canceled is sent again.
        usage_limits: Bounds on the whole job; reaching one stops new batches (`UsageLimitExceeded`);
            its `cost_usd` counts at batch prices, like `max_cost`.
        max_cost: US dollars (at batch prices) after which no new batch is submitted.
        prices: A price table instead of `agentkit.usage.PRICES`.
        cache_ttl: The cache TTL of the agent's breakpoints in batch mode (None: the agent's own).
            Batches may take longer than 5 minutes between turns, so 1 hour is the default.
        warm_cache: With 1-hour caching, write the shared prefix (system, tools) to the cache with one
            live `max_tokens: 0` request before a batch (at most once per 55 minutes): the requests of
            a batch run concurrently and cannot read what another one writes.
        cache_history: Keep agentkit's cache breakpoints on each run's own history too (default: only
            the shared system and tools prefix is cached; a run's history, written at the 1-hour
            price and read back a turn or two later, costs more cached than sent again).
        on_progress: Called with a `BatchProgress` whenever the job moves.
    """
    items: list[BatchItem] = []
    async with stream_batch(
        agent,
        inputs,
        vars=vars,
        deps=deps,
        resume=resume,
        job_id=job_id,
        store=store,
        polling=polling,
        max_resubmits=max_resubmits,
        usage_limits=usage_limits,
        max_cost=max_cost,
        prices=prices,
        cache_ttl=cache_ttl,
        warm_cache=warm_cache,
        cache_history=cache_history,
        on_progress=on_progress,
    ) as stream:
        async for item in stream:
            items.append(item)
        job = stream.job
        batches = job.store.batches(job.id)  # before the block closes a store it opened
    items.sort(key=lambda item: item.index)
    return BatchResult(job.id, items, job.coordinator.usage(), job.cost(), batches)


def run_batch_sync(agent: Agent[Any], inputs: Iterable[InputLike] | None = None, **options: Any) -> BatchResult:
    """`run_batch` for scripts: starts an event loop, so it cannot be called from inside one.

    Args:
        agent: The agent to run.
        inputs: As for `run_batch`.
        **options: The keywords of `run_batch`.
    """
    import asyncio

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        raise RuntimeError("run_batch_sync() was called inside a running event loop; use `await run_batch(...)` there")

    async def main() -> BatchResult:
        return await run_batch(agent, inputs, **options)

    return anyio.run(main)


def stream_batch(
    agent: Agent[Any],
    inputs: Iterable[InputLike] | None = None,
    *,
    vars: Mapping[str, Any] | None = None,
    deps: Any = None,
    resume: str | None = None,
    job_id: str | None = None,
    store: str | Path | JobStore | None = None,
    polling: Polling | None = None,
    max_resubmits: int = 3,
    usage_limits: UsageLimits | None = None,
    max_cost: float | None = None,
    prices: Mapping[str, Price] | None = None,
    cache_ttl: Literal["5m", "1h"] | None = "1h",
    warm_cache: bool = True,
    cache_history: bool = False,
    on_progress: Callable[[BatchProgress], None] | None = None,
) -> AbstractAsyncContextManager[BatchStream]:
    """`run_batch`, with the items as they finish: `async with stream_batch(agent, inputs) as items:
    async for item in items: ...`. Leaving the block early cancels the job (resumable: its batches
    go on, and `resume=items.job_id` re-attaches to them).

    Args:
        agent: The agent to run.
        inputs: As for `run_batch`.
        vars: Template variables for every input.
        deps: Dependencies for every input without its own.
        resume: The id of a job to resume.
        job_id: The id of a new job.
        store: The job file, or a `JobStore`.
        polling: How often the batches in flight are checked.
        max_resubmits: How often a retryable failure is sent again.
        usage_limits: Bounds on the whole job.
        max_cost: US dollars after which no new batch is submitted.
        prices: A price table instead of `agentkit.usage.PRICES`.
        cache_ttl: The cache TTL of the agent's breakpoints in batch mode.
        warm_cache: Warm the 1-hour cache with one live request before a batch.
        cache_history: Cache each run's own history too.
        on_progress: Called with a `BatchProgress` whenever the job moves.
    """
    job = _Job(
        agent,
        inputs,
        vars=vars,
        deps=deps,
        resume=resume,
        job_id=job_id,
        store=store,
        polling=polling or Polling(),
        max_resubmits=max_resubmits,
        usage_limits=usage_limits,
        spend=_spend(agent.model, prices, max_cost, usage_limits),
        cache_ttl=cache_ttl,
        warm_cache=warm_cache,
        cache_history=cache_history,
        on_progress=on_progress,
    )
    return _streaming(job)


def _spend(model: str, prices: Mapping[str, Price] | None, max_cost: float | None, limits: UsageLimits | None) -> Spend:
    """The job's pricing; `UsageLimits.cost_usd` caps the job like `max_cost` (at batch prices)."""
    if limits is not None:
        max_cost = max_cost if max_cost is not None else limits.cost_usd
        prices = prices if prices is not None else limits.prices
    return Spend(model, prices, max_cost)


class BatchStream:
    """The items of a running job, as they finish; `job_id` names it for a resume."""

    def __init__(self, job: _Job, items: anyio.abc.ObjectReceiveStream[BatchItem]) -> None:
        self.job = job
        self.job_id = job.id
        self._items = items

    def __aiter__(self) -> BatchStream:
        return self

    async def __anext__(self) -> BatchItem:
        try:
            return await self._items.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None

    def progress(self) -> BatchProgress:
        """Where the job stands now."""
        return self.job.progress()


@asynccontextmanager
async def _streaming(job: _Job) -> AsyncIterator[BatchStream]:
    send, receive = anyio.create_memory_object_stream[BatchItem](math.inf)
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(job.run, send)
            with receive:
                yield BatchStream(job, receive)
            tg.cancel_scope.cancel()  # a no-op once every item was read; else leaving early stops the job
    finally:
        with anyio.CancelScope(shield=True):
            await job.aclose()


class _Job:
    """One job: its store, its runs, its coordinator."""

    def __init__(
        self,
        agent: Agent,
        inputs: Iterable[InputLike] | None,
        *,
        vars: Mapping[str, Any] | None,
        deps: Any,
        resume: str | None,
        job_id: str | None,
        store: str | Path | JobStore | None,
        polling: Polling,
        max_resubmits: int,
        usage_limits: UsageLimits | None,
        spend: Spend,
        cache_ttl: Literal["5m", "1h"] | None,
        warm_cache: bool,
        cache_history: bool,
        on_progress: Callable[[BatchProgress], None] | None,
    ) -> None:
        if spend.max_cost is not None and not spend.known():
            raise ConfigurationError(f"max_cost: no price is known for model {agent.model!r}; pass prices={{...}}")
        if resume is not None and job_id is not None:
            raise ConfigurationError(f"Pass resume={resume!r} or job_id={job_id!r}, not both")
        self.owns_store = not isinstance(store, JobStore)
        self.store = store if isinstance(store, JobStore) else JobStore(store or default_path(agent.session_store))
        self.id = resume or job_id or "batch_" + secrets.token_hex(6)
        given = normalise(inputs, vars, deps) if inputs is not None else None
        if resume is None:
            if given is None:
                raise ConfigurationError("run_batch() needs inputs=, or resume= with the id of a job to go on with")
            self.store.create(self.id, agent.name, agent.model, [(i.id, saved_input(i)) for i in given])
        else:
            self.store.take(self.id)
        self.saved = self.store.runs(self.id)
        self.deps = deps_by_index(self.saved, given)
        self.default_deps = deps
        self.spend, self.on_progress = spend, on_progress
        self.agent, self.cache_ttl = agent, cache_ttl
        self.owns_client = agent.client is None
        if agent.client is None:
            from ..run import default_client

            self.client = default_client()
        else:
            self.client = agent.client
        self.coordinator = Coordinator(
            self.client,
            self.store,
            self.id,
            len(self.saved),
            polling=polling,
            max_resubmits=max_resubmits,
            limits=usage_limits,
            spend=spend,
            on_change=self._changed,
            warm=warm_cache and agent.cache != "off" and (cache_ttl or agent.cache_ttl) == "1h",
            cache_history=cache_history,
        )
        if resume is not None:
            self.coordinator.restore()
        self.done = sum(r.state == "done" for r in self.saved)
        self.failed = sum(r.state == "failed" for r in self.saved)

    async def aclose(self) -> None:
        self.store.let_go(self.id)
        if self.owns_store:
            self.store.close()
        if self.owns_client:
            await self.client.close()

    async def run(self, send: anyio.abc.ObjectSendStream[BatchItem]) -> None:
        pending = [r for r in self.saved if r.state == "pending"]
        async with send:
            for stored in self.saved:
                if stored.state != "pending":
                    await send.send(self._item(stored.index, stored.input_id, load_outcome(stored.outcome, self.agent)))
            self.coordinator.live = len(pending)
            # The runs read these settings; the agent itself is not changed (`Agent.override`).
            sessions: SessionStore = _Sessions(self.store, self.id)
            batch_settings: dict[str, Any] = {"client": self.client, "session_store": sessions}
            if self.cache_ttl is not None:
                batch_settings["cache_ttl"] = self.cache_ttl
            with self.agent.override(**batch_settings):
                async with anyio.create_task_group() as tg:
                    tg.start_soon(self.coordinator.drive)
                    for stored in pending:
                        tg.start_soon(self._one, stored, send)

    async def _one(self, stored: StoredRun, send: anyio.abc.ObjectSendStream[BatchItem]) -> None:
        index, data = stored.index, stored.input
        coordinator = self.coordinator

        async def model_call(params: dict[str, Any], _send: Callable[[], Any]) -> Message:
            return await coordinator.request(index, params)

        hooks = RunHooks(model_call=model_call)
        session = f"{self.id}:{index}"
        variables, deps = data.get("vars") or None, self.deps.get(index, self.default_deps)
        outcome: Any
        try:
            if stored.started:  # the loop finishes what the saved history left open, then goes on
                outcome = await self.agent.resume(session=session, vars=variables, deps=deps, hooks=hooks)
            else:
                outcome = await self.agent.run(data["prompt"], vars=variables, deps=deps, session=session, hooks=hooks)
        except Exception as exc:  # one input failing never stops the others
            outcome = exc
        finally:
            coordinator.finished()
        ok = not isinstance(outcome, BaseException)
        self.done += ok
        self.failed += not ok
        self.store.finish(self.id, index, "done" if ok else "failed", dump_outcome(outcome))
        await send.send(self._item(index, stored.input_id, outcome))
        self._changed()

    def _item(self, index: int, input_id: str, outcome: Any) -> BatchItem:
        run = self.coordinator.runs[index]
        failed = isinstance(outcome, BaseException)
        return BatchItem(
            input_id,
            index,
            result=None if failed else outcome,
            error=outcome if failed else None,
            usage=run.usage + Usage(),
            cache_write_1h_tokens=run.cache_write_1h,
            cost_usd=self.spend.cost(run.usage, run.cache_write_1h) if self.spend.known() else None,
        )

    def cost(self) -> float | None:
        if not self.spend.known():
            return None
        c = self.coordinator
        batched = c.usage() + Usage()
        for f in dataclasses.fields(Usage):  # the warming requests are live, priced apart
            setattr(batched, f.name, getattr(batched, f.name) - getattr(c.warm_usage, f.name))
        return self.spend.cost(batched, c.cache_write_1h()) + self.spend.live_cost(c.warm_usage, c.warm_write_1h)

    def progress(self) -> BatchProgress:
        c = self.coordinator
        return BatchProgress(
            self.id,
            len(self.saved),
            self.done,
            self.failed,
            len(c.submitted),
            len(c.in_flight),
            c.requests_in_flight(),
            c.usage(),
            self.cost(),
        )

    def _changed(self) -> None:
        if self.on_progress is not None:
            self.on_progress(self.progress())


class _Sessions:
    """The session store of a job's runs (`agentkit.sessions.SessionStore`): each run's history and
    its tool calls started are its row in the job file. The job is held by one process
    (`JobStore.take`), so a run needs no lock of its own."""

    def __init__(self, store: JobStore, job: str) -> None:
        self.store, self.job = store, job

    async def load(self, session_id: str) -> list[MessageParam]:
        return self.store.messages(self.job, _index(session_id))

    async def save(self, session_id: str, messages: list[MessageParam]) -> None:
        self.store.save_messages(self.job, _index(session_id), list(messages))

    async def acquire(self, session_id: str, owner: str) -> None:
        return None

    async def release(self, session_id: str, owner: str) -> None:
        return None

    async def mark_started(self, session_id: str, call_ids: Collection[str]) -> None:
        index = _index(session_id)
        self.store.set_calls_started(self.job, index, self.store.calls_started(self.job, index) | set(call_ids))

    async def mark_finished(self, session_id: str, call_id: str) -> None:
        index = _index(session_id)
        self.store.set_calls_started(self.job, index, self.store.calls_started(self.job, index) - {call_id})

    async def unfinished(self, session_id: str) -> set[str]:
        index = _index(session_id)
        answered = {
            block.get("tool_use_id")
            for message in self.store.messages(self.job, index)
            if message["role"] == "user" and isinstance(message["content"], list)
            for block in message["content"]
            if isinstance(block, dict) and block.get("type") == "tool_result"
        }
        return self.store.calls_started(self.job, index) - answered


def _index(session_id: str) -> int:
    return int(session_id.rsplit(":", 1)[1])
