"""Prompt caching: the conversation of `bench/cache.py` through agentkit and through pydantic-ai.

    .venv/bin/python -m bench.cost
    .venv/bin/python -m bench.cost --turns 30

The conversation is `bench/cache.py`'s: `--turns` user turns; in each the model calls two tools in
parallel, reads their results and answers (two requests per turn), with a ~3,000-token system prompt.
Here it runs through each framework's own entry point, `Agent.run` with the history of the turn before
(agentkit with its defaults, pydantic-ai with each of its cache settings), against the same offline
server (`MessagesServer`), which accounts prompt caching like the service; each response's usage is
read off the wire. Printed per scenario: the
share of input tokens read from cache from the 3rd request on; its ceiling (only the prefix a request
shares with the one before can be read, so no breakpoint placement reads more); and the input cost
relative to no caching (writes 1.25x, 1-hour writes 2x, reads 0.1x), over all requests.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from agentkit.testing import MessagesServer, Reply, Request
from bench.cache import MODEL, SYSTEM, Figures, model_reply, shared_prefix, tool_output

if TYPE_CHECKING:
    import anthropic
    import httpx2

PYDANTIC_AI_SETTINGS: dict[str, dict[str, Any]] = {
    "default (no cache settings)": {},
    "cache=True (all of the below)": {"cache": True},
    "anthropic_cache=True": {"anthropic_cache": True},
    "anthropic_cache + _instructions + _tool_definitions": {
        "anthropic_cache": True,
        "anthropic_cache_instructions": True,
        "anthropic_cache_tool_definitions": True,
    },
    "anthropic_cache_messages + _instructions + _tool_definitions": {
        "anthropic_cache_messages": True,
        "anthropic_cache_instructions": True,
        "anthropic_cache_tool_definitions": True,
    },
}


def prompt_as_text(request: Request) -> Reply:
    """`model_reply` for a client that sends a prompt as text blocks (pydantic-ai) rather than a string."""
    messages = request.body["messages"]
    last = messages[-1]
    if isinstance(last["content"], list) and all(block.get("type") == "text" for block in last["content"]):
        prompt = {**last, "content": "".join(block["text"] for block in last["content"])}
        request = Request({**request.body, "messages": [*messages[:-1], prompt]}, request.headers, request.path)
    return model_reply(request)


def lookup_order(order_id: str) -> str:
    """Look up an order by id: status, items, shipping."""
    return tool_output({"name": "lookup_order", "input": {"order_id": order_id}})


def search_policies(query: str) -> str:
    """Search the policy handbook."""
    return tool_output({"name": "search_policies", "input": {"query": query}})


Turn = Callable[[str], Awaitable[None]]


async def conversation(turns: int, framework: Callable[[anthropic.AsyncAnthropic], Turn]) -> Figures:
    """`turns` user turns through `framework(client)`, recording each response's usage as the API reported it."""
    import anthropic

    figures = Figures()

    async def record(response: httpx2.Response) -> None:
        if response.request.url.path == "/v1/messages" and response.status_code == 200:
            await response.aread()
            figures.usages.append(anthropic.types.Usage.model_validate(response.json()["usage"]))

    with MessagesServer(prompt_as_text) as server:
        http_client = anthropic.DefaultAsyncHttpxClient(event_hooks={"response": [record]})
        async with server.client(http_client=http_client) as client:
            turn = framework(client)
            for n in range(turns):
                await turn(f"Customer question {n}: where is my order and can I get a refund?")
        assert not server.rejected, server.rejected[0][1]
        bodies = [None, *(request.body for request in server.requests)]
        figures.shared = [shared_prefix(before, after) for before, after in itertools.pairwise(bodies)]
    return figures


def agentkit_agent(**settings: Any) -> Callable[[anthropic.AsyncAnthropic], Turn]:
    """`agentkit.Agent.run(prompt, history=...)` turn after turn, with `settings` over the defaults."""

    def framework(client: anthropic.AsyncAnthropic) -> Turn:
        from agentkit import Agent

        tools = [lookup_order, search_policies]
        agent = Agent(model=MODEL, system=SYSTEM, tools=tools, max_tokens=1024, client=client, **settings)
        history: list[Any] = []

        async def turn(prompt: str) -> None:
            nonlocal history
            history = (await agent.run(prompt, history=history)).messages

        return turn

    return framework


def pydantic_ai_agent(**settings: Any) -> Callable[[anthropic.AsyncAnthropic], Turn]:
    """pydantic-ai's `Agent.run(prompt, message_history=...)` turn after turn, with model `settings`."""

    def framework(client: anthropic.AsyncAnthropic) -> Turn:
        from pydantic_ai import Agent
        from pydantic_ai.models.anthropic import AnthropicModel
        from pydantic_ai.providers.anthropic import AnthropicProvider

        model = AnthropicModel(MODEL, provider=AnthropicProvider(anthropic_client=client))
        model_settings: Any = {"max_tokens": 1024, **settings}
        agent = Agent(model, instructions=SYSTEM, tools=[lookup_order, search_policies], model_settings=model_settings)
        history: list[Any] = []

        async def turn(prompt: str) -> None:
            nonlocal history
            history = (await agent.run(prompt, message_history=history)).all_messages()

        return turn

    return framework


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(prog="python -m bench.cost", description=__doc__.split("\n")[0])
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument("--budget", type=int, default=12_000, help="agentkit's memory budget, trimming scenario")
    parser.add_argument("--quick", action="store_true", help="6 turns")
    args = parser.parse_args(argv)
    turns = 6 if args.quick else args.turns
    scenarios = {
        'agentkit, cache="off"': agentkit_agent(cache="off"),
        "agentkit, defaults": agentkit_agent(),
        f"agentkit, memory_budget={args.budget:,} (trims)": agentkit_agent(memory_budget=args.budget),
    }
    try:
        import pydantic_ai  # noqa: F401
    except ImportError:
        print("pydantic-ai skipped: not installed (pip install -e '.[bench]')")
    else:
        for name, settings in PYDANTIC_AI_SETTINGS.items():
            scenarios[f"pydantic-ai, {name}"] = pydantic_ai_agent(**settings)
    lines = [
        "| scenario | requests | input read from cache (3rd request on) | ceiling | input cost vs no caching |",
        "|---|---|---|---|---|",
    ]
    for name, framework in scenarios.items():
        figures = asyncio.run(conversation(turns, framework))
        share, cost = figures.read_share(), figures.relative_cost()
        lines.append(f"| {name} | {len(figures.usages)} | {share:.3f} | {figures.ceiling():.3f} | {cost:.3f} |")
    table = "\n".join(lines)
    print(f"## Prompt caching: {turns} turns, 2 requests each, ~3,000-token system prompt\n\n{table}", flush=True)
    return table


if __name__ == "__main__":
    main()
