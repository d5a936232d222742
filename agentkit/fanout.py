"""Fan-out: many runs at once, their results as they finish, one failure never stopping the rest.

    async with aclosing(map_runs(agent, ["Summarise A", "Summarise B", ...])) as runs:
        async for outcome in runs:              # in the order the runs finish
            print(outcome.index, outcome.result.output if outcome.ok else outcome.error)

    results = await map_in_order(agent, prompts)  # RunResult or the exception, in input order

An input is a prompt, or a `Job` with its own agent, vars, deps, history or session, so runs of
different agents can share one fan-out (and, through one client, the same rate limits). Every
request of every run waits in the pacer of its client and model (`agentkit.pacing`), so
`concurrency` is only a cap on runs in progress, not a guess at the account's limits: None runs
them all at once and lets the rate limits decide.

A run that raises gives an `Outcome` with its `error`; the others go on. Cancelling the iteration
(or closing it early) cancels every run still going and waits for them: each answers its in-flight
tool calls and saves its session as any cancelled run does, so every history stays valid.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Iterable, Sequence
from contextlib import aclosing
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import anyio

from .errors import ConfigurationError

if TYPE_CHECKING:
    from anthropic.types import MessageParam

    from .agent import Agent, Prompt
    from .result import RunResult

__all__ = ["Job", "Outcome", "map_in_order", "map_runs"]


@dataclass(frozen=True)
class Job:
    """One input of a fan-out with more than a prompt. Unset fields take the fan-out's.

    Args:
        prompt: The prompt of the run.
        agent: The agent to run (default: the fan-out's).
        vars: Template variables of the system prompt.
        deps: What the tools get as `RunContext.deps`.
        history: Earlier messages to go on from.
        session: A session id to load and save the run's history under.
    """

    prompt: Prompt
    agent: Agent[Any] | None = None
    vars: dict[str, Any] | None = None
    deps: Any = None
    history: Sequence[MessageParam] | None = None
    session: str | None = None


@dataclass(frozen=True)
class Outcome:
    """How one input's run ended: `result`, or the `error` it raised. `index` is its place in the inputs."""

    index: int
    input: Any
    result: RunResult[Any] | None = None
    error: Exception | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def unwrap(self) -> RunResult[Any]:
        """The result, or raise the run's error."""
        if self.error is not None:
            raise self.error
        assert self.result is not None
        return self.result


async def map_runs(
    agent: Agent[Any] | None,
    inputs: Iterable[Prompt | Job],
    *,
    concurrency: int | None = None,
    vars: dict[str, Any] | None = None,
    deps: Any = None,
) -> AsyncGenerator[Outcome, None]:
    """Run `agent` on every input at once; yield each `Outcome` as its run finishes.

    Args:
        agent: The agent of every input that is not a `Job` naming its own (None: every input must).
        inputs: Prompts, or `Job`s.
        concurrency: At most this many runs in progress at a time (None: all of them).
        vars: Template variables for every run (a `Job`'s own replace them).
        deps: Dependencies for every run (a `Job`'s own replace them).

    Close it when leaving early (`async with contextlib.aclosing(...)`): that cancels the runs
    still going and waits for them to end.
    """
    items = list(inputs)
    if concurrency is not None and concurrency < 1:
        raise ConfigurationError(f"map_runs(concurrency={concurrency!r}): give at least 1, or None for no cap")
    for index, item in enumerate(items):
        if agent is None and not (isinstance(item, Job) and item.agent is not None):
            raise ConfigurationError(
                f"map_runs(None, inputs): input #{index} names no agent; pass an agent, or Job(prompt, agent=...)"
            )
    if not items:
        return
    finished: asyncio.Queue[Outcome] = asyncio.Queue()
    pending = iter(enumerate(items))

    async def worker() -> None:
        for index, item in pending:  # shared: each worker takes the next input when it is free
            finished.put_nowait(await _run_one(agent, index, item, vars, deps))

    workers = [asyncio.create_task(worker()) for _ in range(min(concurrency or len(items), len(items)))]
    try:
        for _ in items:
            yield await finished.get()
    finally:
        for task in workers:
            task.cancel()  # once: a run answers its tool calls and saves its session, shielded
        with anyio.CancelScope(shield=True):  # wait for that even while this task is cancelled
            await asyncio.wait(workers)


async def map_in_order(
    agent: Agent[Any] | None,
    inputs: Iterable[Prompt | Job],
    *,
    concurrency: int | None = None,
    vars: dict[str, Any] | None = None,
    deps: Any = None,
) -> list[RunResult[Any] | Exception]:
    """`map_runs`, collected: each input's `RunResult`, or the exception its run raised, in input order.

    Args:
        agent: As for `map_runs`.
        inputs: As for `map_runs`.
        concurrency: As for `map_runs`.
        vars: As for `map_runs`.
        deps: As for `map_runs`.
    """
    items = list(inputs)
    ordered: list[RunResult[Any] | Exception | None] = [None] * len(items)
    async with aclosing(map_runs(agent, items, concurrency=concurrency, vars=vars, deps=deps)) as runs:
        async for outcome in runs:
            ordered[outcome.index] = outcome.result if outcome.error is None else outcome.error
    return [value for value in ordered if value is not None]


async def _run_one(agent: Agent[Any] | None, index: int, item: Any, vars: dict[str, Any] | None, deps: Any) -> Outcome:
    job = item if isinstance(item, Job) else Job(item)
    runner = job.agent or agent
    assert runner is not None
    try:
        result = await runner.run(
            job.prompt,
            vars=job.vars if job.vars is not None else vars,
            deps=job.deps if job.deps is not None else deps,
            history=job.history,
            session=job.session,
        )
    except Exception as exc:  # one failed run never stops the others
        return Outcome(index, item, error=exc)
    return Outcome(index, item, result=result)
