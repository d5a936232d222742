"""Durable runs in one process: what comes out matches a plain run; steps, retries, streams, queues."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Callable
from typing import Any

import anyio
import pytest

from agentkit import Agent, APIError, ConfigurationError, TextDelta, Tool, ToolCallFinished, tool
from agentkit.durable import DurableAgent, ModelRetries
from agentkit.result import RunFinished
from agentkit.testing import Fault, MessagesServer, Reply, Request, text, tool_use

from .helpers import tool_results

pytestmark = pytest.mark.anyio

FAST = ModelRetries(attempts=3, interval=0.01)


def weather_model(request: Request) -> Reply:
    if not tool_results(request):
        return Reply(content=[text("Checking."), tool_use("get_weather", {"city": "Paris"}, id="toolu_1")])
    return Reply.text("Light rain, 18°C.")


def get_weather(city: str) -> str:
    """The weather in a city.

    Args:
        city: The city.
    """
    return f"18°C and light rain in {city}"


def weather_agent(server: MessagesServer, name: str = "weather") -> Agent:
    return Agent(name=name, model="claude-sonnet-4-6", tools=[get_weather], client=server.client())


async def step_names(run_id: str) -> list[str]:
    from dbos import DBOS

    return [step["function_name"] for step in await DBOS.list_workflow_steps_async(run_id)]


async def test_a_durable_run_gives_what_a_plain_run_gives(durable_db: Callable[..., Any]) -> None:
    with MessagesServer(weather_model) as server:
        plain = await weather_agent(server).run("Weather in Paris?")
        durable = DurableAgent(weather_agent(server, "weather-durable"))
        durable_db()
        result = await durable.run("Weather in Paris?", run_id="paris")

    assert result.output == plain.output == "Light rain, 18°C."
    assert result.messages == plain.messages
    assert result.usage == plain.usage
    assert result.run_id == "paris"
    assert await step_names("paris") == [
        "agentkit.model_call",
        "agentkit.tool_started:get_weather",
        "agentkit.tool:get_weather",
        "agentkit.model_call",
    ]
    assert server.rejected == []


async def test_a_run_id_used_again_gives_the_recorded_result_without_running_again(
    durable_db: Callable[..., Any],
) -> None:
    with MessagesServer(weather_model) as server:
        durable = DurableAgent(weather_agent(server))
        durable_db()
        first = await durable.run("Weather in Paris?", run_id="once")
        again = await durable.run("Weather in Paris?", run_id="once")
        requests = len(server.requests)

    assert requests == 2
    assert again.output == first.output
    assert again.usage == first.usage


async def test_failed_requests_are_retried_by_the_step_only_never_by_the_sdk_too(
    durable_db: Callable[..., Any],
) -> None:
    with MessagesServer([Fault.overloaded(), Fault.overloaded(), Reply.text("hi")]) as server:
        client = server.client(max_retries=2)  # the user's client retries; inside a step it must not
        durable = DurableAgent(Agent(name="a", model="claude-sonnet-4-6", client=client), model_retries=FAST)
        durable_db()
        result = await durable.run("Hello")
        requests = len(server.requests)

    assert result.output == "hi"
    assert requests == 3  # three attempts of one step, not three times the SDK's three
    assert result.usage.requests == 1


async def test_without_step_retries_a_failed_request_is_sent_once_and_raised(durable_db: Callable[..., Any]) -> None:
    with MessagesServer([Fault.overloaded(), Reply.text("never sent")]) as server:
        agent = Agent(name="a", model="claude-sonnet-4-6", client=server.client(max_retries=2))
        durable = DurableAgent(agent, model_retries=ModelRetries(attempts=1))
        durable_db()
        with pytest.raises(APIError) as raised:
            await durable.run("Hello")
        requests = len(server.requests)

    assert requests == 1
    assert raised.value.status_code == 529


async def test_each_continuation_piece_is_a_step_of_its_own(durable_db: Callable[..., Any]) -> None:
    cut = Reply(content=[text("Part one, ")], stop_reason="max_tokens")
    with MessagesServer([cut, Reply.text("part two."), cut, Reply.text("part two.")]) as server:
        plain = await Agent(name="plain", model="claude-sonnet-4-6", client=server.client()).run("Write it all.")
        durable = DurableAgent(Agent(name="long", model="claude-sonnet-4-6", client=server.client()))
        durable_db()
        result = await durable.run("Write it all.", run_id="long")

    assert result.output == plain.output
    assert result.messages == plain.messages
    assert await step_names("long") == ["agentkit.model_call", "agentkit.model_call"]
    assert result.usage.requests == 2


async def test_a_pure_tool_is_no_step_and_simply_runs_again(durable_db: Callable[..., Any]) -> None:
    def model(request: Request) -> Reply:
        if not tool_results(request):
            return Reply(content=[tool_use("add", {"a": 2, "b": 3})])
        return Reply.text("5")

    @tool(durable=False)
    def add(a: int, b: int) -> int:
        """Add two numbers.

        Args:
            a: A number.
            b: Another.
        """
        return a + b

    with MessagesServer(model) as server:
        durable = DurableAgent(Agent(name="calc", model="claude-sonnet-4-6", tools=[add], client=server.client()))
        durable_db()
        result = await durable.run("2 + 3?", run_id="sum")

    assert result.output == "5"
    assert await step_names("sum") == ["agentkit.model_call", "agentkit.model_call"]


async def test_a_streamed_durable_run_delivers_each_turn_when_its_step_is_done(durable_db: Callable[..., Any]) -> None:
    with MessagesServer(weather_model) as server:
        durable = DurableAgent(weather_agent(server))
        durable_db()
        events = []
        async with durable.stream("Weather in Paris?") as run:
            async for event in run:
                events.append(event)

    texts = "".join(e.text for e in events if isinstance(e, TextDelta))
    assert texts == "Checking.Light rain, 18°C."
    assert [e.name for e in events if isinstance(e, ToolCallFinished)] == ["get_weather"]
    assert isinstance(events[-1], RunFinished)
    assert events[-1].result.output == "Light rain, 18°C."


async def test_enqueued_runs_respect_the_queue_concurrency_limit(durable_db: Callable[..., Any]) -> None:
    running, most, lock = 0, 0, threading.Lock()

    async def model(request: Request) -> Reply:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        await anyio.sleep(0.02)  # the model's latency: runs overlap while it lasts
        with lock:
            running -= 1
        return Reply.text("ok")

    with MessagesServer(model) as server:
        durable = DurableAgent(Agent(name="q", model="claude-sonnet-4-6", client=server.client()))
        durable_db(queues={"limited": 3})
        runs = [await durable.enqueue(f"task {i}", queue="limited") for i in range(12)]
        results = [await run.result() for run in runs]

    assert [r.output for r in results] == ["ok"] * 12
    assert most == 3


async def test_mistakes_are_named_with_their_fix(durable_db: Callable[..., Any]) -> None:
    with MessagesServer([]) as server:
        durable = DurableAgent(Agent(name="x", model="claude-sonnet-4-6", client=server.client()))
        durable_db()
        with pytest.raises(ConfigurationError, match=r"launch\(queues=\{'nope': CONCURRENCY\}\)"):
            await durable.enqueue("hi", queue="nope")
        with pytest.raises(ConfigurationError, match=r"created after agentkit\.durable\.launch"):
            DurableAgent(Agent(name="late", model="claude-sonnet-4-6"))


def test_import_agentkit_and_its_cli_never_import_dbos() -> None:
    code = "import sys, agentkit, agentkit.cli; agentkit.Agent; agentkit.Tool; assert 'dbos' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_tool_attributes_reach_the_durable_layer() -> None:
    pure = Tool(get_weather, durable=False, idempotent=True)
    assert (pure.durable, pure.idempotent) == (False, True)
