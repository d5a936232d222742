"""Issue 13 H, I, K, P: budgets and cache markers hold on every request, exactly where it matters."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from agentkit import Agent, UsageLimits
from agentkit._loop.cache import count_breakpoints
from agentkit._loop.continuation import CONTINUE_PROMPT
from agentkit.testing import MessagesServer, Reply, Request, estimate_tokens, text

pytestmark = pytest.mark.anyio

LONG = "All work and no play makes Jack a dull boy. " * 120  # ~1,300 tokens of system prompt


def cut_once(words: int) -> Any:
    """A model whose first answer is cut at max_tokens and whose continuation ends it."""

    def model(request: Request) -> Reply:
        last = request.messages[-1]
        if last["role"] == "assistant" or CONTINUE_PROMPT in str(last["content"]):
            return Reply(content=[text(" and that is the end.")])
        return Reply(content=[text("word " * words)], stop_reason="max_tokens")

    return model


async def test_cache_markers_edited_into_old_messages_are_counted(messages_server: MessagesServer) -> None:
    messages_server.respond_with(lambda request: Reply.text("ok " * 50))
    agent = Agent(model="claude-sonnet-4-6", system=LONG, client=messages_server.client())
    result = await agent.run("one")
    for n in range(2, 6):
        result = await agent.run(f"turn {n}", history=result.messages)
    for message in result.messages[:8:2]:  # the user's own markers, added in place on old dicts
        message["content"] = [{"type": "text", "text": str(message["content"]), "cache_control": {"type": "ephemeral"}}]

    await agent.run("and now?", history=result.messages)

    assert count_breakpoints(messages_server.requests[-1].body) <= 4  # the validator also checked it


async def test_continuation_requests_stay_within_the_memory_budget(messages_server: MessagesServer) -> None:
    messages_server.respond_with(cut_once(1000))
    budget = 9_000
    agent = Agent(model="claude-sonnet-4-6", memory_budget=budget, max_tokens=1000, client=messages_server.client())
    result = await agent.run("Talk.")
    for n in range(20):  # the history grows to the budget and is trimmed; each answer is continued once
        result = await agent.run(f"More {n}.", history=result.messages)

    prompts = [estimate_tokens(r.body) for r in messages_server.requests]
    assert max(prompts) <= budget, prompts


async def test_a_continued_answer_does_not_skew_the_next_runs_estimates(messages_server: MessagesServer) -> None:
    answer_long = cut_once(4000)

    def model(request: Request) -> Reply:
        return Reply.text("Hi.") if request.last_user_text == "Hi?" else answer_long(request)

    messages_server.respond_with(model)
    client = messages_server.client()
    await Agent(model="claude-sonnet-4-6", max_tokens=4096, client=client).run("Recite.")

    small = Agent(
        model="claude-sonnet-4-6",
        memory_budget=3_000,
        usage_limits=UsageLimits(input_tokens=2_000),
        client=client,
    )
    result = await small.run("Hi?")

    assert result.output == "Hi."


def _png(n: int) -> dict[str, Any]:
    data = base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes([n]) * 64).decode()
    return {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": data}}


async def test_the_budget_is_confirmed_with_an_exact_count_before_giving_up(messages_server: MessagesServer) -> None:
    messages_server.script(Reply.text("Four pictures."))
    prompt = [*[_png(n) for n in range(4)], {"type": "text", "text": "What are these?"}]
    exact = estimate_tokens({"messages": [{"role": "user", "content": prompt}]})
    agent = Agent(model="claude-sonnet-4-6", memory_budget=exact + 60, client=messages_server.client())

    result = await agent.run(prompt)  # the local estimate (1,600 an image) is over; the count is not

    assert result.output == "Four pictures."
    assert len(messages_server.count_requests) >= 1
