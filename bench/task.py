"""The agent task every contender runs, the scripted model that answers it, and the contenders.

The task: three model calls and three tool calls. The model asks for the weather in two cities at
once (two parallel tool calls), then for a currency conversion (one call), then answers. The
scripted model decides by the history it is sent (how many `tool_result` blocks it holds), so each
contender gets the same responses whatever it sends, and a contender that lost a tool result
would not get its final answer.

A contender is a factory: given an `AsyncAnthropic` client it builds what it needs once (an agent,
the tools) and returns `run()`, which does the task once and returns the final text.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from agentkit.testing import Reply, Request, text, tool_use

if TYPE_CHECKING:
    import anthropic

MODEL = "claude-sonnet-4-6"
MAX_TOKENS = 1024
PROMPT = "I fly from Paris to London tomorrow with 100 EUR in cash. What should I pack, and how many pounds is that?"
SYSTEM = "\n".join(
    [
        "You are a travel assistant for a corporate travel desk.",
        "Use the tools for facts: get_weather for the forecast, convert_currency for money.",
        "Ask for tools in parallel when the calls do not depend on each other.",
        *(f"Rule {n}: travellers in band {n % 5} may claim up to {40 + n} EUR a day for meals." for n in range(24)),
        "Answer in two or three sentences, with the numbers the tools gave.",
    ]
)  # ~2,000 characters: a modest real-world system prompt
FINAL = (
    "Pack a light rain jacket: Paris is 18°C and cloudy, London 14°C with showers. "
    "Your 100 EUR is about 85.00 GBP at today's rate."
)
CALLS_PER_RUN = 3  # model calls
LONG_PROMPT = "Write the travel desk's full packing guide for a week in London."
LONG_FIRST = " ".join(f"Item {n}: pack what the forecast calls for, and a spare." for n in range(70))
LONG_SECOND = " " + " ".join(f"Step {n}: check the rules of band {n % 5} first." for n in range(80))
"""One long answer in two pieces: the first ends at `max_tokens`, the second finishes it (bench/shapes.py)."""


async def get_weather(city: str) -> str:
    """Today's weather forecast for a city."""
    forecast = {"Paris": "18°C, cloudy", "London": "14°C, showers"}
    return f"{city}: {forecast.get(city, '20°C, sunny')}, wind 12 km/h, humidity 70%"


async def convert_currency(amount: float, currency: str) -> str:
    """Convert an amount in EUR to another currency at today's rate."""
    return f"{amount:.2f} EUR = {amount * 0.85:.2f} {currency} (rate 0.85)"


FUNCTIONS: dict[str, Callable[..., Awaitable[str]]] = {"get_weather": get_weather, "convert_currency": convert_currency}
TOOL_PARAMS: list[dict[str, Any]] = [
    {
        "name": "get_weather",
        "description": "Today's weather forecast for a city.",
        "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
    {
        "name": "convert_currency",
        "description": "Convert an amount in EUR to another currency at today's rate.",
        "input_schema": {
            "type": "object",
            "properties": {"amount": {"type": "number"}, "currency": {"type": "string"}},
            "required": ["amount", "currency"],
        },
    },
]


def scripted_model(request: Request) -> Reply:
    """The model: two parallel weather calls, then a conversion, then the answer (by tool results seen
    since the prompt; an earlier history is not counted). The long-answer prompt gets its first piece
    cut at `max_tokens`, then the rest."""
    messages = request.body["messages"]
    start = max(i for i, m in enumerate(messages) if m["role"] == "user" and _text(m["content"]) in _PROMPTS)
    if _text(messages[start]["content"]) == LONG_PROMPT:
        if len(messages) == start + 1:
            return Reply([text(LONG_FIRST)], stop_reason="max_tokens")
        return Reply.text(LONG_SECOND)
    answered = sum(
        1
        for message in messages[start:]
        if message["role"] == "user" and isinstance(message["content"], list)
        for block in message["content"]
        if block.get("type") == "tool_result"
    )
    if answered == 0:
        return Reply(
            [
                text("Let me check the weather in both cities."),
                tool_use("get_weather", {"city": "Paris"}),
                tool_use("get_weather", {"city": "London"}),
            ]
        )
    if answered == 2:
        return Reply([tool_use("convert_currency", {"amount": 100, "currency": "GBP"})])
    return Reply.text(FINAL)


_PROMPTS = (PROMPT, LONG_PROMPT)


def _text(content: Any) -> str | None:
    """A user message's text when it is a string or one text block (as some frameworks send it)."""
    if isinstance(content, list) and len(content) == 1 and content[0].get("type") == "text":
        return str(content[0].get("text"))
    return content if isinstance(content, str) else None


Run = Callable[[], Awaitable[str]]


def raw_sdk(client: anthropic.AsyncAnthropic) -> Run:
    """The floor: `messages.create`, run the calls with `asyncio.gather`, append, repeat."""

    async def run() -> str:
        messages: list[Any] = [{"role": "user", "content": PROMPT}]
        while True:
            response = await client.messages.create(
                model=MODEL, max_tokens=MAX_TOKENS, system=SYSTEM, tools=TOOL_PARAMS, messages=messages
            )
            calls = [block for block in response.content if block.type == "tool_use"]
            if not calls:
                return "".join(block.text for block in response.content if block.type == "text")
            messages.append({"role": "assistant", "content": response.content})
            outputs = await asyncio.gather(*(FUNCTIONS[call.name](**call.input) for call in calls))
            results = [
                {"type": "tool_result", "tool_use_id": call.id, "content": output}
                for call, output in zip(calls, outputs, strict=True)
            ]
            messages.append({"role": "user", "content": results})

    return run


def agentkit_agent(client: anthropic.AsyncAnthropic) -> Run:
    """`agentkit.Agent.run`, with the same typed tool functions."""
    from agentkit import Agent

    agent = Agent(
        model=MODEL, system=SYSTEM, tools=[get_weather, convert_currency], max_tokens=MAX_TOKENS, client=client
    )

    async def run() -> str:
        result = await agent.run(PROMPT)
        return str(result.output)

    return run


def sdk_tool_runner(client: anthropic.AsyncAnthropic) -> Run:
    """`client.beta.messages.tool_runner` with `beta_async_tool` tools and server-held threads off."""
    from anthropic import beta_async_tool

    tools = [beta_async_tool(get_weather), beta_async_tool(convert_currency)]

    async def run() -> str:
        runner = client.beta.messages.tool_runner(
            model=MODEL,
            max_tokens=MAX_TOKENS,
            system=SYSTEM,
            tools=tools,
            messages=[{"role": "user", "content": PROMPT}],
            thread=False,
        )
        message = await runner.until_done()
        return "".join(block.text for block in message.content if block.type == "text")

    return run


def pydantic_ai_agent(client: anthropic.AsyncAnthropic) -> Run:
    """pydantic-ai's `Agent` with its `AnthropicModel` on the same client."""
    from pydantic_ai import Agent
    from pydantic_ai.models.anthropic import AnthropicModel
    from pydantic_ai.providers.anthropic import AnthropicProvider

    model = AnthropicModel(MODEL, provider=AnthropicProvider(anthropic_client=client))
    agent = Agent(
        model,
        instructions=SYSTEM,
        tools=[get_weather, convert_currency],
        model_settings={"max_tokens": MAX_TOKENS},
    )

    async def run() -> str:
        result = await agent.run(PROMPT)
        return result.output

    return run


CONTENDERS: dict[str, Callable[[anthropic.AsyncAnthropic], Run]] = {
    "raw SDK loop": raw_sdk,
    "agentkit": agentkit_agent,
    "SDK tool runner": sdk_tool_runner,
    "pydantic-ai": pydantic_ai_agent,
}
FLOOR = "raw SDK loop"


def available(names: list[str] | None = None) -> tuple[list[str], list[str]]:
    """The contenders that can run here (of `names`, default all), and a note for each one skipped."""
    chosen, skipped = [], []
    for name in names or list(CONTENDERS):
        if name not in CONTENDERS:
            raise SystemExit(f"unknown contender {name!r}; choose from {', '.join(CONTENDERS)}")
        if name == "pydantic-ai":
            try:
                import pydantic_ai  # noqa: F401
            except ImportError:
                skipped.append("pydantic-ai skipped: not installed (pip install -e '.[bench]')")
                continue
        chosen.append(name)
    if FLOOR not in chosen:
        chosen.insert(0, FLOOR)  # every ratio is to the floor
    return chosen, skipped
