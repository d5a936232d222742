"""The task shapes `bench.agent_loop` measures, each with its contenders.

Every shape is `bench/task.py`'s travel task or a variant of it, answered by the same scripted model
(`task.scripted_model`, which reads the run's own part of the history, after the prompt):

- `async tools`: the two tools are `async def` (the task as `task.py` defines it).
- `sync tools`: the same tools as plain `def` functions. The raw loop calls them inline (a plain
  function needs no event loop); agentkit with its defaults runs each in a worker thread (a slow
  function must never stall the event loop), and with `@tool(blocking=False)` on the event loop.
- `mixed tools`: the weather look-up `async def`, the conversion a plain `def`. The raw loop gathers
  the async calls and calls the plain one inline.
- `streamed`: the async task with streaming on: the raw loop iterates `messages.stream(...)`'s events,
  agentkit `agent.stream(...)`'s, the tool runner `tool_runner(..., stream=True)`'s.
- `continuation`: one long answer (~8,000 characters) cut at `max_tokens` once and continued with a
  user turn (the model, Sonnet 4.6, refuses an assistant prefill), the pieces stitched. The tool runner
  and pydantic-ai do not continue an answer, so they sit this one out.
- `50-turn history`: the async task after a 50-turn tool conversation passed in as history, with a
  memory budget that leaves out about half of it. The raw loop keeps the newest whole turns that fit
  the same budget (sized once per run, as a careful user would), agentkit `memory_budget=`.

A contender is a factory: given an `AsyncAnthropic` client it builds what it needs once and returns
`run()`, which does the task once and returns the final text (checked against the shape's answer).
"""

from __future__ import annotations

import asyncio
import inspect
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bench import task
from bench.task import FINAL, MAX_TOKENS, MODEL, PROMPT, SYSTEM, TOOL_PARAMS, Run

if TYPE_CHECKING:
    import anthropic


def get_weather_sync(city: str) -> str:
    """Today's weather forecast for a city."""
    forecast = {"Paris": "18°C, cloudy", "London": "14°C, showers"}
    return f"{city}: {forecast.get(city, '20°C, sunny')}, wind 12 km/h, humidity 70%"


def convert_currency_sync(amount: float, currency: str) -> str:
    """Convert an amount in EUR to another currency at today's rate."""
    return f"{amount:.2f} EUR = {amount * 0.85:.2f} {currency} (rate 0.85)"


get_weather_sync.__name__ = "get_weather"
convert_currency_sync.__name__ = "convert_currency"

Functions = dict[str, Callable[..., Any]]
ASYNC: Functions = {"get_weather": task.get_weather, "convert_currency": task.convert_currency}
SYNC: Functions = {"get_weather": get_weather_sync, "convert_currency": convert_currency_sync}
MIXED: Functions = {"get_weather": task.get_weather, "convert_currency": convert_currency_sync}

LONG_PROMPT = task.LONG_PROMPT
LONG_ANSWER = task.LONG_FIRST + task.LONG_SECOND
CONTINUE = "Your answer was cut off by the output limit. Continue exactly where it stopped."

HISTORY_TURNS = 50
HISTORY_BUDGET = 6_000  # tokens: the system prompt, the tools and about half of the 50 turns


def history(turns: int = HISTORY_TURNS) -> list[dict[str, Any]]:
    """A tool conversation of `turns` turns: a question, a tool call, its ~600-character result, an answer."""
    from agentkit.testing import text, tool_use

    messages: list[dict[str, Any]] = []
    for n in range(turns):
        call = tool_use("get_weather", {"city": f"City {n}"}, id=f"toolu_hist{n:05d}")
        result = f"City {n}: 20°C, sunny. " + "Hourly: " + ", ".join(f"{h:02d}h {15 + h % 7}°C" for h in range(40))
        messages += [
            {"role": "user", "content": f"Question {n}: what is the weather in City {n}?"},
            {"role": "assistant", "content": [text("Let me check."), call]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call["id"], "content": result}]},
            {"role": "assistant", "content": [text(f"City {n} is sunny at 20°C.")]},
        ]
    return messages


HISTORY = history()


# -- the raw SDK loop, per shape -------------------------------------------------------------------


async def _outputs(functions: Functions, calls: list[Any]) -> list[Any]:
    """A careful user's tool step: plain functions inline, async ones awaited (gathered when several)."""
    outputs: list[Any] = [None] * len(calls)
    pending = []
    for i, call in enumerate(calls):
        function = functions[call.name]
        if inspect.iscoroutinefunction(function):
            pending.append((i, function(**call.input)))
        else:
            outputs[i] = function(**call.input)
    if len(pending) == 1:
        outputs[pending[0][0]] = await pending[0][1]
    elif pending:
        for (i, _), value in zip(pending, await asyncio.gather(*(c for _, c in pending)), strict=True):
            outputs[i] = value
    return outputs


def _results(calls: list[Any], outputs: list[Any]) -> dict[str, Any]:
    blocks = [{"type": "tool_result", "tool_use_id": c.id, "content": o} for c, o in zip(calls, outputs, strict=True)]
    return {"role": "user", "content": blocks}


def raw_loop(functions: Functions, *, stream: bool = False, budget: int | None = None) -> Callable[..., Run]:
    """The floor for a tool shape: `messages.create` (or `.stream`), the tool step above, append, repeat."""

    def factory(client: anthropic.AsyncAnthropic) -> Run:
        async def run() -> str:
            messages: list[Any] = [*(_window(HISTORY, budget) if budget else ()), {"role": "user", "content": PROMPT}]
            kwargs: dict[str, Any] = {"model": MODEL, "max_tokens": MAX_TOKENS, "system": SYSTEM, "tools": TOOL_PARAMS}
            while True:
                if stream:
                    async with client.messages.stream(**kwargs, messages=messages) as events:
                        async for _event in events:
                            pass
                        response = await events.get_final_message()
                else:
                    response = await client.messages.create(**kwargs, messages=messages)
                calls = [block for block in response.content if block.type == "tool_use"]
                if not calls:
                    return "".join(block.text for block in response.content if block.type == "text")
                messages.append({"role": "assistant", "content": response.content})
                messages.append(_results(calls, await _outputs(functions, calls)))

        return run

    return factory


def _window(messages: list[dict[str, Any]], budget: int) -> list[dict[str, Any]]:
    """The newest whole turns of `messages` that fit `budget` tokens beside the system prompt, tools and
    prompt (~4 characters a token, each message sized once). `bench.agent_loop` checks that agentkit's
    `memory_budget` keeps the same turns (it trims in chunks, by its calibrated estimate)."""
    room = budget * 4 - len(SYSTEM) - len(json.dumps(TOOL_PARAMS)) - len(PROMPT)
    sizes = [len(json.dumps(m, ensure_ascii=False)) for m in messages]
    starts = [i for i, m in enumerate(messages) if isinstance(m["content"], str)]  # a turn starts with a prompt
    total = sum(sizes)
    for start in starts:
        if total <= room:
            return messages[start:]
        total -= sum(sizes[start : next((s for s in starts if s > start), len(messages))])
    return []


def raw_continuation(client: anthropic.AsyncAnthropic) -> Run:
    """The floor for the long answer: `messages.create`, and on `max_tokens` a user turn asking to go on."""

    async def run() -> str:
        messages: list[Any] = [{"role": "user", "content": LONG_PROMPT}]
        text = ""
        while True:
            response = await client.messages.create(
                model=MODEL, max_tokens=MAX_TOKENS, system=SYSTEM, messages=messages
            )
            text += "".join(block.text for block in response.content if block.type == "text")
            if response.stop_reason != "max_tokens":
                return text
            messages = [
                {"role": "user", "content": LONG_PROMPT},
                {"role": "assistant", "content": text.rstrip()},
                {"role": "user", "content": CONTINUE},
            ]

    return run


# -- agentkit ---------------------------------------------------------------------------------------


def agentkit_agent(
    functions: Functions,
    *,
    stream: bool = False,
    blocking: bool = True,
    budget: int | None = None,
    tools: bool = True,
    prompt: str = PROMPT,
) -> Callable[..., Run]:
    """`Agent.run` (or `Agent.stream`) with the shape's functions as tools, as a user writes it."""

    def factory(client: anthropic.AsyncAnthropic) -> Run:
        from agentkit import Agent, tool

        listed: list[Any] = []
        if tools:
            listed = [f if blocking else tool(f, blocking=False) for f in functions.values()]
        agent = Agent(
            model=MODEL, system=SYSTEM, tools=listed, max_tokens=MAX_TOKENS, client=client, memory_budget=budget
        )
        past = HISTORY if budget else None

        async def run() -> str:
            if stream:
                async with agent.stream(prompt, history=past) as events:
                    async for _event in events:
                        pass
                    assert events.result is not None
                    return str(events.result.output)
            result = await agent.run(prompt, history=past)
            return str(result.output)

        return run

    return factory


# -- peers ------------------------------------------------------------------------------------------


def tool_runner(functions: Functions, *, stream: bool = False) -> Callable[..., Run]:
    """`client.beta.messages.tool_runner(..., thread=False)`; its async runner takes only async tools, so
    plain functions are wrapped in `async def`s (what a user of it has to write)."""

    def factory(client: anthropic.AsyncAnthropic) -> Run:
        from anthropic import beta_async_tool

        tools = [beta_async_tool(_as_async(f)) for f in functions.values()]

        async def run() -> str:
            runner = client.beta.messages.tool_runner(
                model=MODEL,
                max_tokens=MAX_TOKENS,
                system=SYSTEM,
                tools=tools,
                messages=[{"role": "user", "content": PROMPT}],
                thread=False,
                stream=stream,
            )
            if stream:
                async for events in runner:
                    async for _event in events:
                        pass
            message = await runner.until_done()
            return "".join(block.text for block in message.content if block.type == "text")

        return run

    return factory


def _as_async(function: Callable[..., Any]) -> Callable[..., Any]:
    if inspect.iscoroutinefunction(function):
        return function

    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        return function(*args, **kwargs)

    wrapper.__name__, wrapper.__doc__ = function.__name__, function.__doc__
    wrapper.__signature__ = inspect.signature(function)  # type: ignore[attr-defined]
    wrapper.__annotations__ = function.__annotations__
    return wrapper


def pydantic_ai(functions: Functions, *, stream: bool = False) -> Callable[..., Run]:
    """pydantic-ai's `Agent` with its `AnthropicModel` on the same client (plain functions: its defaults)."""

    def factory(client: anthropic.AsyncAnthropic) -> Run:
        from pydantic_ai import Agent
        from pydantic_ai.models.anthropic import AnthropicModel
        from pydantic_ai.providers.anthropic import AnthropicProvider

        model = AnthropicModel(MODEL, provider=AnthropicProvider(anthropic_client=client))
        agent = Agent(
            model, instructions=SYSTEM, tools=list(functions.values()), model_settings={"max_tokens": MAX_TOKENS}
        )

        async def run() -> str:
            if stream:  # `run_stream` ends at the first text; this runs the whole tool loop streamed
                from pydantic_ai import AgentRunResultEvent

                output = ""
                async with agent.run_stream_events(PROMPT) as events:
                    async for event in events:
                        if isinstance(event, AgentRunResultEvent):
                            output = str(event.result.output)
                return output
            return str((await agent.run(PROMPT)).output)

        return run

    return factory


# -- the shapes -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Shape:
    name: str
    contenders: Mapping[str, Callable[..., Run]]  # the floor first
    answer: str = FINAL
    calls: int = task.CALLS_PER_RUN  # model calls per run


FLOOR = "raw SDK loop"
PEERS = ("SDK tool runner", "pydantic-ai")


def shapes() -> list[Shape]:
    return [
        Shape(
            "async tools",
            {
                FLOOR: raw_loop(ASYNC),
                "agentkit": agentkit_agent(ASYNC),
                "SDK tool runner": tool_runner(ASYNC),
                "pydantic-ai": pydantic_ai(ASYNC),
            },
        ),
        Shape(
            "sync tools",
            {
                FLOOR: raw_loop(SYNC),
                "agentkit": agentkit_agent(SYNC),
                "agentkit (blocking=False)": agentkit_agent(SYNC, blocking=False),
                "SDK tool runner": tool_runner(SYNC),
                "pydantic-ai": pydantic_ai(SYNC),
            },
        ),
        Shape(
            "mixed tools",
            {
                FLOOR: raw_loop(MIXED),
                "agentkit": agentkit_agent(MIXED),
                "agentkit (blocking=False)": agentkit_agent(MIXED, blocking=False),
                "SDK tool runner": tool_runner(MIXED),
                "pydantic-ai": pydantic_ai(MIXED),
            },
        ),
        Shape(
            "streamed",
            {
                FLOOR: raw_loop(ASYNC, stream=True),
                "agentkit": agentkit_agent(ASYNC, stream=True),
                "SDK tool runner": tool_runner(ASYNC, stream=True),
                "pydantic-ai": pydantic_ai(ASYNC, stream=True),
            },
        ),
        Shape(
            "continuation",
            {FLOOR: raw_continuation, "agentkit": agentkit_agent({}, tools=False, prompt=LONG_PROMPT)},
            answer=LONG_ANSWER,
            calls=2,
        ),
        Shape(
            "50-turn history",
            {
                FLOOR: raw_loop(ASYNC, budget=HISTORY_BUDGET),
                "agentkit": agentkit_agent(ASYNC, budget=HISTORY_BUDGET),
            },
        ),
    ]


def chosen(names: str | None, contenders: str | None) -> tuple[list[Shape], list[str]]:
    """The shapes to run (comma-separated names, default all) with the contenders asked for and
    installed (the floor always), and a note for each skipped."""
    notes: list[str] = []
    try:
        import pydantic_ai  # noqa: F401
    except ImportError:
        notes.append("pydantic-ai skipped: not installed (pip install -e '.[bench]')")
    missing = {"pydantic-ai"} if notes else set()
    everything = shapes()
    wanted = [s.strip() for s in names.split(",")] if names else [s.name for s in everything]
    unknown = set(wanted) - {s.name for s in everything}
    if unknown:
        raise SystemExit(f"unknown shape(s) {sorted(unknown)}; choose from {', '.join(s.name for s in everything)}")
    keep = {c.strip() for c in contenders.split(",")} if contenders else None
    result = []
    for shape in everything:
        if shape.name not in wanted:
            continue
        picked = {
            name: factory
            for name, factory in shape.contenders.items()
            if name == FLOOR or ((keep is None or name in keep) and name not in missing)
        }
        result.append(Shape(shape.name, picked, shape.answer, shape.calls))
    return result, notes
