"""`map_runs`: many runs at once, results as they finish, failures kept apart, cancellation clean."""

from __future__ import annotations

from contextlib import aclosing
from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel
import pytest

from agentkit import Agent, APIError, ConfigurationError, RunResult, pacing
from agentkit.fanout import Job, map_in_order, map_runs
from agentkit.sessions import SQLiteSessionStore
from agentkit.testing import Fault, MessagesServer, RateLimits, Reply, Request, tool_use, validate, with_tools

pytestmark = pytest.mark.anyio
MODEL = "claude-sonnet-4-6"


def lookup(key: str) -> str:
    """Look a key up.

    Args:
        key: The key.
    """
    return f"value of {key}"


def one_tool_then_answer(request: Request) -> Reply:
    """The model: look the prompt up, then answer with what the tool said."""
    if not request.tool_results:
        return Reply(content=[tool_use("lookup", {"key": request.last_user_text})])
    return Reply.text(f"It is {request.tool_results[0]['content']}.")


async def test_200_runs_against_a_rate_limited_server_get_no_429_and_all_finish() -> None:
    limits = RateLimits(requests_per_minute=60, input_tokens_per_minute=30_000, minute=0.5)
    with MessagesServer(lambda r: Reply.text(f"Done: {r.last_user_text}."), rate_limits=limits) as server:
        agent = Agent(model=MODEL, client=server.client())
        results = await map_in_order(agent, [f"task {i}" for i in range(200)])
    assert server.rate_limiter is not None
    assert server.rate_limiter.rejected == 0
    assert server.rate_limiter.admitted == 200
    assert [r.output for r in results if isinstance(r, RunResult)] == [f"Done: task {i}." for i in range(200)]
    assert sum(r.paced_seconds for r in results if isinstance(r, RunResult)) > 0  # the limit did bind


async def test_a_failed_run_is_one_outcome_and_the_others_finish() -> None:
    def model(request: Request) -> Reply | Fault:
        if request.last_user_text == "bad":
            return Fault("status", "invalid_request_error")
        return Reply.text(f"ok {request.last_user_text}")

    with MessagesServer(model) as server:
        agent = Agent(model=MODEL, client=server.client())
        outcomes = [o async for o in map_runs(agent, ["a", "bad", "c"], concurrency=2)]
    assert sorted(o.index for o in outcomes) == [0, 1, 2]
    failed = [o for o in outcomes if not o.ok]
    assert [o.input for o in failed] == ["bad"]
    assert isinstance(failed[0].error, APIError)
    assert failed[0].error.status_code == 400
    with pytest.raises(APIError):
        failed[0].unwrap()
    assert sorted(o.unwrap().output for o in outcomes if o.ok) == ["ok a", "ok c"]


async def test_results_come_in_the_order_runs_finish() -> None:
    gates = {name: anyio.Event() for name in ("slow", "fast")}

    async def wait_for(name: str) -> str:
        """Wait for a gate.

        Args:
            name: The gate.
        """
        await gates[name].wait()
        return name

    def model(request: Request) -> Reply:
        if not request.tool_results:
            return Reply(content=[tool_use("wait_for", {"name": request.last_user_text})])
        return Reply.text(str(request.tool_results[0]["content"]))

    with MessagesServer(model) as server:
        agent = Agent(model=MODEL, tools=[wait_for], client=server.client())
        async with aclosing(map_runs(agent, ["slow", "fast"])) as runs:
            gates["fast"].set()
            first = await anext(runs)
            gates["slow"].set()
            second = await anext(runs)
    assert (first.index, first.unwrap().output) == (1, "fast")
    assert (second.index, second.unwrap().output) == (0, "slow")


async def test_cancelling_stops_every_run_and_every_saved_history_stays_valid(tmp_path: Path) -> None:
    started: list[str] = []

    async def crawl(url: str) -> str:
        """Crawl a site.

        Args:
            url: The site.
        """
        started.append(url)
        await anyio.sleep(3600)
        return "crawled"

    store = SQLiteSessionStore(tmp_path / "s.sqlite3")

    def model(request: Request) -> Reply:
        return Reply(content=[tool_use("crawl", {"url": request.last_user_text})])

    with MessagesServer(model) as server:
        agent = Agent(model=MODEL, tools=[crawl], session_store=store, client=server.client())
        jobs = [Job(f"site{i}", session=f"s{i}") for i in range(10)]
        with anyio.fail_after(10):
            async with anyio.create_task_group() as group:

                async def consume() -> None:
                    async with aclosing(map_runs(agent, jobs)) as runs:
                        async for _ in runs:
                            pass

                group.start_soon(consume)
                while len(started) < 10:
                    await anyio.wait_all_tasks_blocked()
                group.cancel_scope.cancel()
    for i in range(10):
        saved = await store.load(f"s{i}")
        assert [m["role"] for m in saved] == ["user", "assistant", "user"]
        assert saved[-1]["content"][0]["is_error"] is True
        assert (
            validate(
                with_tools({"model": MODEL, "max_tokens": 5, "messages": [*saved, {"role": "user", "content": "go"}]})
            )
            is None
        )


async def test_runs_of_different_agents_share_one_client_and_its_pacer() -> None:
    limits = RateLimits(requests_per_minute=20, minute=1.0)
    with MessagesServer(lambda r: Reply.text(f"{r.system} says hi"), rate_limits=limits) as server:
        client = server.client()
        french = Agent(model=MODEL, system="French", client=client)
        german = Agent(model=MODEL, system="German", client=client)
        jobs: list[Any] = [Job("hi", agent=french if i % 2 else german) for i in range(40)]
        results = await map_in_order(None, jobs, concurrency=10)
    assert server.rate_limiter is not None
    assert server.rate_limiter.rejected == 0
    assert [r.output for r in results if isinstance(r, RunResult)] == [
        ("French" if i % 2 else "German") + " says hi" for i in range(40)
    ]
    assert pacing.pacer_for(french.client, MODEL) is pacing.pacer_for(german.client, MODEL)


async def test_concurrency_caps_the_runs_in_progress() -> None:
    running, peak = 0, 0

    async def work(n: int) -> str:
        """Work.

        Args:
            n: A number.
        """
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await anyio.lowlevel.checkpoint()
        running -= 1
        return "done"

    def model(request: Request) -> Reply:
        if not request.tool_results:
            return Reply(content=[tool_use("work", {"n": 1})])
        return Reply.text("finished")

    with MessagesServer(model) as server:
        agent = Agent(model=MODEL, tools=[work], client=server.client())
        results = await map_in_order(agent, ["x"] * 12, concurrency=3)
    assert len(results) == 12
    assert 1 <= peak <= 3


async def test_bad_arguments_name_the_fix() -> None:
    agent = Agent(model=MODEL)
    with pytest.raises(ConfigurationError, match="concurrency=0"):
        await anext(map_runs(agent, ["x"], concurrency=0))
    with pytest.raises(
        ConfigurationError, match=r"input #0 names no agent; pass an agent, or Job\(prompt, agent=...\)"
    ):
        await anext(map_runs(None, ["x"]))
