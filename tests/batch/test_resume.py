"""A job stopped part-way (cancelled, or its process killed) resumes without submitting anything twice."""

from __future__ import annotations

import math
from collections import Counter

import anyio
import pytest
from batch_task import FAST, three_turns

from agentkit import Agent
from agentkit.batch import BatchProgress, JobStore, run_batch
from agentkit.testing import MessagesServer, Reply, Request, text

pytestmark = pytest.mark.anyio


async def _run_until(agent: Agent, store: JobStore, inputs: list[str], batches: int) -> None:
    """Start a job, and cancel it as soon as `batches` batches are in flight or done (mid-poll)."""
    reached = anyio.Event()

    def progress(p: BatchProgress) -> None:
        if p.batches_submitted >= batches:
            reached.set()

    async with anyio.create_task_group() as tg:
        tg.start_soon(lambda: run_batch(agent, inputs, job_id="job-1", store=store, polling=FAST, on_progress=progress))
        await reached.wait()
        tg.cancel_scope.cancel()


async def test_a_job_cancelled_mid_poll_resumes_on_its_batch_in_flight(
    agent: Agent, messages_server: MessagesServer, store: JobStore
) -> None:
    messages_server.respond_with(three_turns)
    messages_server.batches.processing_delay = math.inf  # held until released
    inputs = [f"About City{n}" for n in range(20)]

    await _run_until(agent, store, inputs, batches=1)
    assert len(messages_server.batches.submissions) == 1
    messages_server.batches.processing_delay = 0
    messages_server.batches.release()

    result = await run_batch(agent, resume="job-1", store=store, polling=FAST)

    assert [item.output for item in result] == [
        f"City{n}: City{n} is in Examplestan; {1004 + len(str(n))}" for n in range(20)
    ]
    assert len(messages_server.batches.submissions) == 3  # the first batch was re-attached to, not sent again
    assert max(Counter(messages_server.batches.submitted).values()) == 1
    assert len(messages_server.batches.requests) == 60
    assert result.batches == messages_server.batches.submissions
    assert result.usage.requests == 60


async def test_a_job_cancelled_while_its_tools_run_resumes_from_the_valid_history_it_kept(
    messages_server: MessagesServer, store: JobStore
) -> None:
    # A tool of turn 1 hangs, so the job is stopped after batch 1's results arrived, before batch 2.
    # As in a live run, the cancelled call is answered ("Cancelled: ...") and that history is saved.
    entered, ran = anyio.Event(), Counter[str]()

    async def lookup(city: str) -> str:
        """The country of a city."""
        ran[city] += 1
        entered.set()
        if len(ran) == 1 and ran[city] == 1:
            await anyio.sleep_forever()
        return f"{city} is in Examplestan"

    async def population(city: str) -> int:
        """The population of a city."""
        return 1000 + len(city)

    messages_server.respond_with(three_turns)
    agent = Agent(model="claude-haiku-4-5", tools=[lookup, population], client=messages_server.client())

    async with anyio.create_task_group() as tg:
        tg.start_soon(lambda: run_batch(agent, ["About A"], job_id="job-2", store=store, polling=FAST))
        await entered.wait()
        tg.cancel_scope.cancel()
    assert len(messages_server.batches.submissions) == 1

    [item] = await run_batch(agent, resume="job-2", store=store, polling=FAST)

    assert item.output == "A: Cancelled: the run was stopped before this tool finished.; 1001"
    assert ran == {"A": 1}
    assert len(messages_server.batches.submissions) == 3  # turn 1 was not sent again
    assert max(Counter(messages_server.batches.submitted).values()) == 1
    assert item.usage.requests == 3


async def test_a_finished_job_resumed_gives_back_its_results_without_a_request(
    agent: Agent, messages_server: MessagesServer, store: JobStore
) -> None:
    seen: list[Request] = []
    messages_server.respond_with(lambda r: seen.append(r) or three_turns(r))  # type: ignore[func-returns-value]
    first = await run_batch(agent, ["About A"], job_id="job-3", store=store, polling=FAST)

    again = await run_batch(agent, resume="job-3", store=store, polling=FAST)

    assert [i.output for i in again] == [i.output for i in first]
    assert len(seen) == 3
    assert again.usage == first.usage


async def test_a_batch_created_just_before_the_process_died_is_found_not_sent_again(
    agent: Agent, messages_server: MessagesServer, store: JobStore
) -> None:
    messages_server.respond_with(three_turns)
    messages_server.batches.processing_delay = math.inf
    await _run_until(agent, store, ["About A", "About B"], batches=1)
    [created] = messages_server.batches.submissions
    # As if the process had died after the API created the batch, before the job saved its id:
    store._db.execute("UPDATE batches SET id = 'pending_1', state = 'submitting' WHERE id = ?", (created,))
    store._db.execute("UPDATE requests SET batch = 'pending_1' WHERE batch = ?", (created,))
    messages_server.batches.processing_delay = 0
    messages_server.batches.release()

    result = await run_batch(agent, resume="job-1", store=store, polling=FAST)

    assert [item.output for item in result] == ["A: A is in Examplestan; 1001", "B: B is in Examplestan; 1001"]
    assert len(messages_server.batches.submissions) == 3
    assert max(Counter(messages_server.batches.submitted).values()) == 1
    assert result.batches == messages_server.batches.submissions


async def test_a_result_fetched_before_a_stop_is_replayed_when_the_run_asks_again(
    messages_server: MessagesServer, store: JobStore
) -> None:
    # A continuation: piece 1's batch has ended, piece 2's is in flight when the job stops. Nothing of
    # the turn is saved, so the resumed run asks for piece 1 again and gets the stored result.
    messages_server.script(
        Reply([text("Alpha beta ")], stop_reason="max_tokens"), Reply([text(" gamma.")], stop_reason="end_turn")
    )
    messages_server.batches.processing_delay = math.inf
    agent = Agent(model="claude-haiku-4-5", client=messages_server.client())
    first, second = anyio.Event(), anyio.Event()

    def progress(p: BatchProgress) -> None:
        if p.batches_submitted >= 1:
            (second if p.batches_submitted >= 2 else first).set()

    async with anyio.create_task_group() as tg:
        tg.start_soon(
            lambda: run_batch(agent, ["Recite."], job_id="job-5", store=store, polling=FAST, on_progress=progress)
        )
        await first.wait()
        messages_server.batches.release()
        await second.wait()
        tg.cancel_scope.cancel()
    messages_server.batches.processing_delay = 0
    messages_server.batches.release()

    [item] = await run_batch(agent, resume="job-5", store=store, polling=FAST)

    assert item.output == "Alpha beta gamma."
    assert len(messages_server.batches.submissions) == 2
    assert len(messages_server.batches.requests) == 2  # piece 1 was not asked again
    assert item.usage.requests == 2
