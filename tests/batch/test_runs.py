"""What a batched run does as a live one would: typed output, continuation, failures kept per input."""

from __future__ import annotations

import pytest
from batch_task import FAST, MODEL, lookup, population, three_turns
from pydantic import BaseModel

from agentkit import Agent, APIError, RunContext, UsageLimitExceeded, UsageLimits
from agentkit.batch import BatchInput, JobStore, run_batch, stream_batch
from agentkit.fanout import Job
from agentkit.testing import Fault, MessagesServer, Reply, Request, redacted_thinking, text, thinking, tool_use

pytestmark = pytest.mark.anyio


class City(BaseModel):
    name: str
    country: str


async def test_typed_output_with_a_validation_retry(messages_server: MessagesServer, store: JobStore) -> None:
    def model(request: Request) -> Reply:
        if not request.tool_results:
            return Reply(content=[tool_use("final_result", {"name": "Oslo"})])  # country missing
        return Reply(content=[tool_use("final_result", {"name": "Oslo", "country": "Norway"})])

    messages_server.respond_with(model)
    agent = Agent(model=MODEL, output_type=City, client=messages_server.client())

    result = await run_batch(agent, ["Capital of Norway?", "Capital of Norway, again?"], store=store, polling=FAST)

    assert [item.output for item in result] == [City(name="Oslo", country="Norway")] * 2
    assert len(messages_server.batches.submissions) == 2
    retry = messages_server.batches.requests[2]
    assert retry.tool_results[0]["is_error"] is True
    assert "country" in str(retry.tool_results[0]["content"])


async def test_an_answer_cut_at_max_tokens_is_continued_in_the_next_batch(
    messages_server: MessagesServer, store: JobStore
) -> None:
    messages_server.script(
        Reply([text("Alpha beta ")], stop_reason="max_tokens"), Reply([text(" gamma.")], stop_reason="end_turn")
    )
    agent = Agent(model=MODEL, client=messages_server.client())

    [item] = await run_batch(agent, ["Recite."], store=store, polling=FAST)

    assert item.output == "Alpha beta gamma."
    assert len(messages_server.batches.submissions) == 2
    assert item.result is not None
    assert item.result.messages[-1]["role"] == "assistant"


async def test_errored_and_expired_results_are_resubmitted_in_the_next_batch(
    messages_server: MessagesServer, store: JobStore, agent: Agent
) -> None:
    faults = {
        "About B": [Fault.overloaded()],
        "About C": [Fault.expired(), Fault.rate_limit()],
        "About D": [Fault.canceled()],
    }

    def model(request: Request) -> Reply | Fault:
        first = request.messages[0]["content"]
        if not request.tool_results and faults.get(first):
            return faults[first].pop(0)
        return three_turns(request)

    messages_server.respond_with(model)

    result = await run_batch(agent, ["About A", "About B", "About C", "About D"], store=store, polling=FAST)

    assert [item.output for item in result] == [f"{c}: {c} is in Examplestan; 1001" for c in "ABCD"]
    # 3 turns; C is 2 batches behind (two resubmissions), B and D one, in the same batches.
    assert len(messages_server.batches.submissions) == 3 + 2
    assert [item.usage.requests for item in result] == [3, 3, 3, 3]  # failed results are not billed


async def test_retries_are_bounded_and_end_in_a_typed_api_error(
    messages_server: MessagesServer, store: JobStore, agent: Agent
) -> None:
    messages_server.respond_with(lambda request: Fault.overloaded())

    [item] = await run_batch(agent, ["About A"], store=store, polling=FAST, max_resubmits=2)

    assert isinstance(item.error, APIError)
    assert item.error.error_type == "overloaded_error"
    assert len(messages_server.batches.submissions) == 3  # the first try and two resubmissions


@pytest.mark.agentkit_allow_rejected
async def test_an_invalid_request_fails_its_input_with_the_apis_message_and_the_others_go_on(
    messages_server: MessagesServer, store: JobStore, agent: Agent
) -> None:
    messages_server.respond_with(three_turns)
    blank = [{"role": "user", "content": [{"type": "text", "text": "   "}]}, {"role": "assistant", "content": "ok"}]
    inputs = [BatchInput("good", "About A"), BatchInput("bad", "About B", history=blank), BatchInput("also", "About C")]

    result = await run_batch(agent, inputs, store=store, polling=FAST)

    good, bad, also = result.items
    assert (good.output, also.output) == ("A: A is in Examplestan; 1001", "C: C is in Examplestan; 1001")
    assert isinstance(bad.error, APIError)
    assert (bad.error.status_code, bad.error.error_type) == (400, "invalid_request_error")
    assert messages_server.rejected[0][1] in str(bad.error)
    assert bad.error.messages[-1]["content"] == "About B"  # the history is kept, valid to resume from


async def test_items_stream_as_they_finish_and_each_costs_half_the_live_price(
    messages_server: MessagesServer, store: JobStore, agent: Agent
) -> None:
    def model(request: Request) -> Reply:
        if request.messages[0]["content"] == "Quick":
            return Reply.text("done")
        return three_turns(request)

    messages_server.respond_with(model)

    async with stream_batch(agent, ["About A", "Quick"], store=store, polling=FAST) as items:
        finished = [item.id async for item in items]

    assert finished == ["1", "0"]


async def test_a_cost_cap_stops_new_batches_and_fails_the_runs_that_wait(
    messages_server: MessagesServer, store: JobStore, agent: Agent
) -> None:
    messages_server.respond_with(three_turns)

    result = await run_batch(agent, ["About A", "About B"], store=store, polling=FAST, max_cost=0.0004)

    assert len(messages_server.batches.submissions) == 1
    assert all(isinstance(item.error, UsageLimitExceeded) for item in result)
    assert "max_cost" in str(result.items[0].error)
    assert result.cost_usd is not None
    assert 0 < result.cost_usd <= 0.0004


async def test_usage_limits_bound_the_whole_job(messages_server: MessagesServer, store: JobStore, agent: Agent) -> None:
    messages_server.respond_with(three_turns)

    result = await run_batch(
        agent, ["About A", "About B"], store=store, polling=FAST, usage_limits=UsageLimits(requests=3)
    )

    assert len(messages_server.batches.submissions) == 1  # a second batch would make 4 requests
    assert all(isinstance(item.error, UsageLimitExceeded) for item in result)
    assert "requests: 2 used, the next batch has 2, limit 3" in str(result.items[0].error)


async def test_a_cost_bound_in_usage_limits_counts_at_batch_prices(
    messages_server: MessagesServer, store: JobStore, agent: Agent
) -> None:
    messages_server.respond_with(three_turns)

    result = await run_batch(agent, ["About A"], store=store, polling=FAST, usage_limits=UsageLimits(cost_usd=0.0002))

    assert len(messages_server.batches.submissions) == 1
    assert "max_cost" in str(result.items[0].error)


def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


async def test_thinking_blocks_go_back_byte_for_byte_through_batches(
    messages_server: MessagesServer, store: JobStore
) -> None:
    first = [thinking("I need to add 2 and 3."), redacted_thinking(), tool_use("add", {"a": 2, "b": 3})]
    messages_server.script(Reply(content=first), Reply(content=[thinking("The sum is 5."), text("5")]))
    agent = Agent(
        model="claude-sonnet-4-6",
        tools=[add],
        thinking={"type": "enabled", "budget_tokens": 1024},
        max_tokens=4096,
        client=messages_server.client(),
    )

    [item] = await run_batch(agent, ["2+3?"], store=store, polling=FAST)

    assert item.output == "5"
    assert item.result is not None
    assert item.result.thinking == "I need to add 2 and 3.\n\nThe sum is 5."
    assert messages_server.batches.requests[1].messages[1]["content"] == first  # signatures checked by the server
    assert len(messages_server.batches.submissions) == 2


async def test_the_shared_prefix_is_cached_for_an_hour_and_warmed_once_before_the_first_batch(
    store: JobStore,
) -> None:
    with MessagesServer(three_turns) as server:
        server.batches.simulated_duration = 600  # ten minutes a batch: a 5-minute entry would be gone
        facts = " ".join(f"Fact {n}: cities have names." for n in range(700))  # over 4,096 tokens
        system = "You are a geographer. " + facts
        agent = Agent(model=MODEL, system=system, tools=[lookup, population], client=server.client())

        result = await run_batch(agent, [f"About {c}" for c in "ABCD"], store=store, polling=FAST)

    [warm] = server.requests  # one live request, before the first batch
    assert warm.body["max_tokens"] == 0
    assert warm.body["system"][-1]["cache_control"] == {"type": "ephemeral", "ttl": "1h"}
    assert all(r.body["system"][-1]["cache_control"]["ttl"] == "1h" for r in server.batches.requests)
    assert all("cache_control" not in r.body for r in server.batches.requests)  # the history is not cached
    assert all(item.usage.cache_read_tokens > 0 for item in result)
    assert all(item.usage.cache_write_tokens == 0 for item in result)  # the warm-up wrote it, once
    assert result.usage.cache_write_tokens > 0


async def test_job_wide_vars_and_deps_and_the_inputs_agent_map_takes(
    messages_server: MessagesServer, store: JobStore
) -> None:
    def where(ctx: RunContext[str], city: str) -> str:
        """Where a city is."""
        return f"{city} is in {ctx.deps}"

    def model(request: Request) -> Reply:
        if not request.tool_results:
            return Reply(content=[tool_use("where", {"city": request.last_user_text})])
        return Reply.text(f"{request.system}: {request.tool_results[0]['content']}")

    messages_server.respond_with(model)
    agent = Agent(model=MODEL, system="{{ greeting }}", tools=[where], client=messages_server.client())
    inputs = ["Oslo", Job("Lima", vars={"greeting": "Hola"}, deps="Peru"), [{"type": "text", "text": "Rome"}]]

    result = await run_batch(agent, inputs, vars={"greeting": "Hi"}, deps="Europe", store=store, polling=FAST)

    assert [item.output for item in result] == [
        "Hi: Oslo is in Europe",
        "Hola: Lima is in Peru",
        "Hi: Rome is in Europe",
    ]
