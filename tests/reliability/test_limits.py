"""Usage limits stop a run with a typed error before the request that would pass them."""

from __future__ import annotations

import pytest

from agentkit import Agent, UsageLimitExceeded, UsageLimits
from agentkit.testing import MessagesServer, Reply, tool_use, validate, with_tools
from agentkit.usage import Price, Usage, price_of

pytestmark = pytest.mark.anyio


def ping() -> str:
    """Ping."""
    return "pong"


def looping(server: MessagesServer, limits: UsageLimits, **kwargs: object) -> Agent:
    server.respond_with(lambda request: Reply(content=[tool_use("ping", {})]))
    return Agent(model="claude-sonnet-4-6", tools=[ping], usage_limits=limits, client=server.client(), **kwargs)  # type: ignore[arg-type]


async def test_a_request_limit_stops_before_the_request_that_would_pass_it(messages_server: MessagesServer) -> None:
    agent = looping(messages_server, UsageLimits(requests=3))

    with pytest.raises(UsageLimitExceeded, match="requests: the next would be number 4, over the limit of 3") as caught:
        await agent.run("loop")

    assert len(messages_server.requests) == 3
    assert caught.value.usage is not None
    assert caught.value.usage.requests == 3
    body = {"model": "m", "max_tokens": 5, "messages": [*caught.value.messages, {"role": "user", "content": "x"}]}
    assert validate(with_tools(body)) is None


async def test_an_input_token_limit_counts_the_next_prompt(messages_server: MessagesServer) -> None:
    agent = looping(messages_server, UsageLimits(input_tokens=400), system="You are terse. " * 40)

    with pytest.raises(UsageLimitExceeded, match="input_tokens: about") as caught:
        await agent.run("loop")

    assert caught.value.usage is not None
    assert caught.value.usage.prompt_tokens <= 400  # what was sent stayed within the limit


async def test_output_limits_lower_max_tokens_so_an_answer_cannot_pass_them(messages_server: MessagesServer) -> None:
    messages_server.script(Reply.text("fine"))
    agent = Agent(
        model="claude-sonnet-4-6",
        max_tokens=4096,
        usage_limits=UsageLimits(output_tokens=300),
        client=messages_server.client(),
    )

    await agent.run("hi")

    assert messages_server.requests[0].body["max_tokens"] == 300


async def test_a_cost_limit_uses_the_models_price(messages_server: MessagesServer) -> None:
    agent = looping(messages_server, UsageLimits(cost_usd=0.002))

    with pytest.raises(UsageLimitExceeded, match=r"cost_usd: about \$0\.00") as caught:
        await agent.run("loop")

    spent = price_of("claude-sonnet-4-6")
    assert spent is not None
    assert caught.value.usage is not None
    assert spent.cost(caught.value.usage) <= 0.002


def test_prices_cost_cache_reads_and_writes_as_the_api_bills_them() -> None:
    price = Price(input=3.0, output=15.0)
    usage = Usage(input_tokens=1_000_000, cache_write_tokens=1_000_000, cache_read_tokens=1_000_000, output_tokens=0)
    assert price.cost(usage) == pytest.approx(3.0 + 3.75 + 0.30)
    assert price_of("claude-opus-4-1-20250805") == Price(15.0, 75.0)
    assert price_of("claude-opus-4-6") == Price(5.0, 25.0)
    assert price_of("claude-haiku-4-5") == Price(1.0, 5.0)
    assert price_of("gpt-4") is None
