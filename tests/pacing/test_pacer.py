"""The pacer, end to end: agents against a rate-limited offline server, over the real SDK."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import anyio
import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from agentkit import Agent, APIError, RunResult, pacing
from agentkit.sessions import SQLiteSessionStore
from agentkit.telemetry import TelemetrySettings
from agentkit.testing import Fault, MessagesServer, RateLimits, Reply, Request, validate

pytestmark = pytest.mark.anyio
MODEL = "claude-sonnet-4-6"
SYSTEM = "You answer in one short sentence. " * 60  # ~500 tokens a request


def answer(request: Request) -> Reply:
    return Reply.text(f"Answer to {request.last_user_text}.")


def agent_for(server: MessagesServer, *, paced: bool = True, **kwargs: Any) -> Agent:
    return Agent(model=MODEL, system=SYSTEM, client=server.client(**kwargs.pop("client", {})), pacing=paced, **kwargs)


async def burst(agent: Agent, n: int) -> list[RunResult[Any] | BaseException]:
    results: list[RunResult[Any] | BaseException] = [RuntimeError("not run")] * n

    async def one(i: int) -> None:
        try:
            results[i] = await agent.run(f"question {i}")
        except Exception as exc:
            results[i] = exc

    async with anyio.create_task_group() as group:
        for i in range(n):
            group.start_soon(one, i)
    return results


def long_answer(request: Request) -> Reply:
    return Reply.text("A long answer that uses up the output tokens. " * 40)  # ~400 tokens


BURSTS = {
    # each would overdraw one bucket if sent at once
    "requests": (RateLimits(requests_per_minute=10, minute=1.0), {}, 25, answer),
    "input-tokens": (RateLimits(input_tokens_per_minute=5_000, minute=1.0), {}, 20, answer),
    "output-tokens": (RateLimits(output_tokens_per_minute=4_000, minute=2.0), {"max_tokens": 1_000}, 12, long_answer),
}


@pytest.mark.parametrize("bucket", list(BURSTS))
async def test_a_burst_that_would_overdraw_a_bucket_waits_for_room_instead_of_getting_429s(bucket: str) -> None:
    limits, settings, n, model = BURSTS[bucket]
    with MessagesServer(model, rate_limits=limits, latency=0.02) as server:
        unpaced = await burst(agent_for(server, paced=False, client={"max_retries": 0}, **settings), n)
    assert server.rate_limiter is not None
    assert server.rate_limiter.rejected > 0  # the burst does overdraw the bucket
    assert any(isinstance(r, APIError) and r.status_code == 429 for r in unpaced)

    with MessagesServer(model, rate_limits=limits, latency=0.02) as server:
        results = await burst(agent_for(server, **settings), n)
    assert server.rate_limiter is not None
    assert server.rate_limiter.rejected == 0
    assert all(isinstance(r, RunResult) for r in results), [r for r in results if not isinstance(r, RunResult)]
    assert any(r.paced_seconds > 0 for r in results if isinstance(r, RunResult))


async def test_a_run_waiting_for_room_cancels_at_once_and_leaves_nothing_reserved(tmp_path: Path) -> None:
    store = SQLiteSessionStore(tmp_path / "s.sqlite3")
    with MessagesServer(answer, rate_limits=RateLimits(requests_per_minute=3, minute=60.0)) as server:
        agent = agent_for(server, session_store=store)
        for n in range(3):
            await agent.run(f"request {n} of the 3 this minute")
        pacer = pacing.pacer_for(agent.client, MODEL)
        before = pacer.levels()["requests"][1]
        with anyio.fail_after(5):
            async with anyio.create_task_group() as group:
                group.start_soon(functools.partial(agent.run, "must wait a minute", session="waiting"))
                while pacer.waiting == 0:
                    await anyio.wait_all_tasks_blocked()
                group.cancel_scope.cancel()
        assert pacer.waiting == 0
        assert pacer.levels()["requests"][1] == pytest.approx(before, abs=0.05)  # only the refill since
        assert len(server.requests) == 3  # the waiting run sent nothing
    saved = await store.load("waiting")
    assert [m["role"] for m in saved] == ["user"]
    assert validate({"model": MODEL, "max_tokens": 5, "messages": saved}) is None


async def test_a_429_is_retried_by_agentkit_after_retry_after_not_by_the_sdk() -> None:
    with MessagesServer(answer, rate_limits=RateLimits(requests_per_minute=1_000)) as server:
        agent = agent_for(server)  # the SDK's own max_retries=2 would give up on the third 429
        await agent.run("learn that this server paces")
        server.script(*[Fault.rate_limit(retry_after=0.05)] * 3)
        result = await agent.run("through three 429s")
    assert result.output == "Answer to through three 429s."
    assert len(server.requests) == 1 + 4
    assert result.paced_seconds >= 3 * 0.05  # each retry waited out retry-after in the pacer


async def test_with_no_rate_limit_headers_nothing_waits_once_the_first_answer_is_in() -> None:
    with MessagesServer(answer) as server:
        agent = agent_for(server)
        first = await burst(agent, 10)
        pacer = pacing.pacer_for(agent.client, MODEL)
        assert pacer.paces is False
        again = await burst(agent, 20)
    assert all(isinstance(r, RunResult) for r in first + again)
    assert all(r.paced_seconds == 0 for r in again if isinstance(r, RunResult))


async def test_a_wait_is_a_span_event_and_a_metric_and_the_result_says_how_long() -> None:
    exporter, reader = InMemorySpanExporter(), InMemoryMetricReader()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    settings = TelemetrySettings(tracer_provider=tracer_provider, meter_provider=MeterProvider(metric_readers=[reader]))
    with MessagesServer(answer, rate_limits=RateLimits(requests_per_minute=2, minute=0.5)) as server:
        results = await burst(agent_for(server, telemetry=settings), 4)
    waited = [r for r in results if isinstance(r, RunResult) and r.paced_seconds > 0]
    assert waited
    events = [e for s in exporter.get_finished_spans() for e in s.events if e.name == "agentkit.pacing.wait"]
    assert events
    assert {e.attributes["agentkit.pacing.limited_by"] for e in events} == {"requests"}
    assert sum(e.attributes["agentkit.pacing.seconds"] for e in events) == pytest.approx(  # type: ignore[index, misc]
        sum(r.paced_seconds for r in waited)
    )
    data = reader.get_metrics_data()
    points = [
        p
        for rm in data.resource_metrics  # type: ignore[union-attr]
        for sm in rm.scope_metrics
        for m in sm.metrics
        if m.name == "agentkit.pacing.wait.duration"
        for p in m.data.data_points
    ]
    assert points
    assert points[0].attributes == {"gen_ai.request.model": MODEL}
    assert sum(p.sum for p in points) == pytest.approx(sum(r.paced_seconds for r in waited))  # type: ignore[attr-defined]


async def test_streamed_runs_are_paced_from_the_stream_headers_too() -> None:
    with MessagesServer(answer, rate_limits=RateLimits(requests_per_minute=5, minute=1.0)) as server:
        agent = agent_for(server)

        async def streamed(i: int) -> str:
            async with agent.stream(f"question {i}") as run:
                async for _ in run:
                    pass
            assert run.result is not None
            return str(run.result.output)

        outputs: list[str] = []
        async with anyio.create_task_group() as group:
            for i in range(12):
                group.start_soon(lambda i=i: _append(outputs, streamed(i)))
    assert server.rate_limiter is not None
    assert server.rate_limiter.rejected == 0
    assert sorted(outputs) == sorted(f"Answer to question {i}." for i in range(12))
    assert pacing.pacer_for(agent.client, MODEL).paces is True


async def _append(into: list[str], value: Any) -> None:
    into.append(await value)


async def test_the_input_scale_settles_at_the_actual_ratio_with_many_requests_in_flight() -> None:
    # 1,000 runs at once once overflowed it: each response reckoned its ratio at the scale the earlier
    # responses had already raised, so the scale compounded to infinity and the next request failed.
    from types import SimpleNamespace

    from agentkit._pacing.pacer import Pacer

    pacer = Pacer()
    pacer.paces = False  # no rate-limit headers: every request is admitted at once
    tickets = [(await pacer.acquire(1_000, 100))[0] for _ in range(200)]
    usage = SimpleNamespace(input_tokens=1_500, cache_creation_input_tokens=0, output_tokens=10)
    for ticket in tickets:
        pacer.record(ticket, None, usage)
    assert pacer.input_scale == pytest.approx(1.5)
    ticket, _ = await pacer.acquire(1_000, 100)
    assert ticket.cost["input-tokens"] == 1_500


async def test_what_other_clients_spend_is_learned_within_a_quarter_second_and_at_once_near_a_limit() -> None:
    # Reading every response's headers was a fifth of the pacer's cost per request; with room in
    # every bucket, a reading a quarter second old is good enough, and near a limit each is read.
    from types import SimpleNamespace

    from agentkit._pacing.pacer import Pacer

    now = [0.0]
    pacer = Pacer(clock=lambda: now[0])
    usage = SimpleNamespace(input_tokens=10, cache_creation_input_tokens=0, output_tokens=1)

    def told(remaining: int) -> dict[str, str]:  # another client spends the rest
        return {"anthropic-ratelimit-requests-limit": "100", "anthropic-ratelimit-requests-remaining": str(remaining)}

    async def respond(remaining: int) -> float:
        ticket, _ = await pacer.acquire(10, 1)
        pacer.record(ticket, told(remaining), usage)
        return pacer.levels()["requests"][1]

    assert await respond(90) == 90  # the first reading
    now[0] += 0.1
    assert await respond(70) == 89  # 0.1 s later, with room: held by its own accounting
    now[0] += 0.2
    assert await respond(60) == 60  # a quarter second on: read
    now[0] += 0.25
    assert await respond(45) == 45  # under half the limit now: from here every response is read
    now[0] += 0.01
    assert await respond(30) == 30
    now[0] += 0.01
    assert await respond(29) == 29


async def test_a_burst_goes_out_one_request_per_turn_of_the_event_loop() -> None:
    # 1,000 runs at once used to put 1,000 requests into the HTTP pool in one turn, whose work per
    # request grows with those waiting in it: a third more CPU per call than a burst let out one by one.
    import asyncio
    from types import SimpleNamespace

    from agentkit._pacing.pacer import Pacer

    pacer = Pacer()
    roomy = {"anthropic-ratelimit-requests-limit": "1000", "anthropic-ratelimit-requests-remaining": "999"}
    first, _ = await pacer.acquire(10, 1)
    pacer.record(first, roomy, SimpleNamespace(input_tokens=10, cache_creation_input_tokens=0, output_tokens=1))
    log: list[str] = []

    async def send(k: int) -> float:
        _, waited = await pacer.acquire(10, 1)
        log.append(f"admitted {k}")
        await asyncio.sleep(0)  # the request's first wait on the network
        log.append(f"on its way {k}")
        return waited

    waited = await asyncio.gather(*(send(k) for k in range(4)))

    assert log == [f"{what} {k}" for k in range(4) for what in ("admitted", "on its way")]
    assert waited == [0.0] * 4  # a turn of the loop is not a wait for room in a bucket


async def test_a_burst_with_room_to_spare_reports_no_paced_wait() -> None:
    with MessagesServer(answer, rate_limits=RateLimits(requests_per_minute=1_000_000)) as server:
        agent = agent_for(server)
        await agent.run("learn that this server paces")

        results = await burst(agent, 20)

    assert [r.paced_seconds for r in results if isinstance(r, RunResult)] == [0.0] * 20


def test_bursts_from_event_loops_in_several_threads_share_a_pacer_and_all_finish() -> None:
    # A pacer is shared by every loop of the process; a waiter woken from another thread's loop
    # (an `anyio.Event` set there) never ran: two threads of 20 runs each hung on every try.
    import asyncio
    import threading

    with MessagesServer(answer, rate_limits=RateLimits(requests_per_minute=1_000_000)) as server:
        Agent(model=MODEL, client=server.client()).run_sync("learn that this server paces")
        failures: list[BaseException] = []

        def runs(k: int) -> None:
            async def main() -> None:
                agent = Agent(model=MODEL, client=server.client())
                await asyncio.gather(*(agent.run(f"question {k}-{i}") for i in range(20)))

            try:
                asyncio.run(main())
            except BaseException as exc:
                failures.append(exc)

        threads = [threading.Thread(target=runs, args=(k,), daemon=True) for k in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)  # a hang detector: the runs take well under a second

        assert not any(thread.is_alive() for thread in threads), "runs were left waiting for the pacer"
        assert failures == []
        assert len(server.requests) == 1 + 4 * 20
