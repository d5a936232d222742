"""Defects the random mixes of `test_property_mixes.py` found, each shrunk to a few lines of public API."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import pytest

from agentkit import Agent, tool
from agentkit.testing import Fault, MessagesServer, Reply, Request, estimate_tokens, tool_use

pytestmark = pytest.mark.anyio


@tool
def work(n: int) -> str:
    """Do some work."""
    return f"work {n} done"


@pytest.mark.parametrize("fault", [Fault.end_stream(), Fault.close_stream()], ids=str)
async def test_a_non_streaming_json_body_cut_short_is_retried(messages_server: MessagesServer, fault: Fault) -> None:
    # The body is whole by HTTP's framing but its JSON is cut: the SDK's decoder raised
    # json.JSONDecodeError straight out of `agent.run`, not even an APIError.
    messages_server.script(Reply([tool_use("work", {"n": 1})]), fault, Reply.text("Done."))
    agent = Agent(model="claude-haiku-4-5", tools=[work], client=messages_server.client())

    result = await agent.run("Work.")

    assert result.output == "Done."
    assert len(messages_server.requests) == 3


PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\x00" * 24).decode()
IMAGE = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}}


@tool
def fetch(n: int) -> str:
    """Fetch a page of text."""
    return "w" * 400


async def test_a_prompt_with_images_that_fits_the_budget_is_not_refused(messages_server: MessagesServer) -> None:
    # A text run calibrates the estimate; the images of the next prompt were then sized at the text's
    # rate (about 3,650 for what the server counts 3,008) and MemoryBudgetExceeded raised on the estimate,
    # since its 10% margin did not reach the budget: count_tokens was never asked.
    messages_server.script(Reply([tool_use("fetch", {"n": 1})]), Reply.text("Read."), Reply.text("Seen."))
    earlier = await Agent(model="claude-sonnet-4-6", tools=[fetch], client=messages_server.client()).run("Read it.")
    tight = Agent(model="claude-sonnet-4-6", memory_budget=3200, client=messages_server.client())

    result = await tight.run([{"type": "text", "text": "Look."}, IMAGE, IMAGE], history=earlier.messages)

    assert result.output == "Seen."
    assert estimate_tokens(messages_server.requests[-1].body) <= 3200


def fetch_three_pages(request: Request) -> Reply:
    """Fetches pages 0, 1 and 2 (one call a turn), then answers."""
    last = request.messages[-1]
    if isinstance(last["content"], str) or not any(b.get("type") == "tool_result" for b in last["content"]):
        return Reply([tool_use("fetch", {"n": 0})])
    n = request.messages[-2]["content"][-1]["input"]["n"] + 1
    return Reply.text("done") if n == 3 else Reply([tool_use("fetch", {"n": n})])


async def test_a_prompt_with_images_after_a_text_history_stays_within_the_budget(
    messages_server: MessagesServer,
) -> None:
    # Was sent over the budget (4,386 tokens): the history's tool blocks were sized without their
    # framing, so the scale they set was off for what came next. One scale still serves text and
    # images alike (agentkit/_loop/sizing.py).
    messages_server.respond_with(fetch_three_pages)
    agent = Agent(model="claude-sonnet-4-6", tools=[fetch], client=messages_server.client())
    history: list[Any] = []
    for page in range(3):
        history = (await agent.run(f"Read {page}.", history=history)).messages
    tight = Agent(model="claude-sonnet-4-6", tools=[fetch], memory_budget=4200, client=messages_server.client())
    first = len(messages_server.requests)

    result = await tight.run([{"type": "text", "text": "Look."}, IMAGE, IMAGE], history=history)

    assert result.output == "done"
    sizes = [estimate_tokens(request.body) for request in messages_server.requests[first:]]
    assert max(sizes) <= 4200, sizes  # the first request carried 4,386


async def test_a_continuation_that_starts_like_the_prefill_is_kept(messages_server: MessagesServer) -> None:
    messages_server.script(Reply([{"type": "text", "text": "c"}], stop_reason="max_tokens"), Reply.text("cf"))
    agent = Agent(model="claude-haiku-4-5", client=messages_server.client())

    result = await agent.run("Spell it.")

    assert result.output == "ccf"  # came out "cf"


@tool
def refuse(reason: str) -> str:
    """Refuse a request."""
    raise ValueError("")


def refusals(k: int) -> Callable[[Request], Reply]:
    """Fetches a page, then calls `refuse` `k` times at once, then answers."""

    def reply(request: Request) -> Reply:
        turn = sum(1 for m in request.messages if m["role"] == "assistant")
        if turn == 0:
            return Reply([tool_use("fetch", {"n": 1})])
        if turn == 1:
            return Reply([tool_use("refuse", {"reason": ""}) for _ in range(k)])
        return Reply.text("Done.")

    return reply


@pytest.mark.parametrize("k", [3, 60])
async def test_an_input_token_limit_is_never_passed_by_small_blocks(messages_server: MessagesServer, k: int) -> None:
    # Was passed with 3 (381 +- 8 estimated for 409: the error allowed was 10% of the new results
    # alone, whose framing weighs more than the prose that set the scale), then with 60 (the count of
    # a message's tool blocks stopped at 31).
    from agentkit import UsageLimitExceeded, UsageLimits

    messages_server.respond_with(refusals(k))
    await Agent(model="claude-haiku-4-5", tools=[fetch, refuse], client=messages_server.client()).run("Go.")
    sizes = [estimate_tokens(r.body) for r in messages_server.requests]
    limit = sum(sizes) - 1  # the third prompt does not fit
    messages_server.requests.clear()
    limited = Agent(
        model="claude-haiku-4-5",
        tools=[fetch, refuse],
        usage_limits=UsageLimits(input_tokens=limit),
        client=messages_server.client(),
    )

    with pytest.raises(UsageLimitExceeded):
        await limited.run("Go.")

    assert sum(estimate_tokens(r.body) for r in messages_server.requests) <= limit


async def test_a_history_of_small_tool_blocks_is_counted_near_a_limit_before_any_anchor(
    messages_server: MessagesServer,
) -> None:
    # A calibration learned on prose, then a history (a plain list: no exact count travels with it)
    # of 20 short tool calls and results: estimated 917 +- 92 for 1,045, the limit of 1,044 was passed.
    from agentkit import UsageLimitExceeded, UsageLimits

    messages_server.respond_with(lambda r: Reply.text("Prose answer, plenty of ordinary words here. " * 20))
    await Agent(model="claude-haiku-4-5", client=messages_server.client()).run("Tell me a story " * 50)
    calls = [tool_use("refuse", {"reason": ""}, id=f"toolu_{i:024d}") for i in range(20)]
    history = [
        {"role": "user", "content": "Go."},
        {"role": "assistant", "content": calls},
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": c["id"], "content": "no", "is_error": True} for c in calls
            ],
        },
        {"role": "assistant", "content": [{"type": "text", "text": "Done."}]},
    ]
    messages_server.respond_with(lambda r: Reply.text("ok"))
    agent = Agent(model="claude-haiku-4-5", tools=[refuse], client=messages_server.client())
    await agent.run("Again.", history=history)
    size = estimate_tokens(messages_server.requests[-1].body)
    messages_server.requests.clear()
    limited = Agent(
        model="claude-haiku-4-5",
        tools=[refuse],
        usage_limits=UsageLimits(input_tokens=size - 1),
        client=messages_server.client(),
    )

    with pytest.raises(UsageLimitExceeded):
        await limited.run("Again.", history=history)
    assert all("messages" not in r.body or "max_tokens" not in r.body for r in messages_server.requests)
