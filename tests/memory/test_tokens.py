"""Token accounting: exact figures from usage, local estimates only for what changed, few count_tokens calls."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from agentkit._history import History
from agentkit._loop.sizing import FRAMING_DOUBT
from agentkit._loop.tokens import UNCALIBRATED_ERROR, Estimate, TokenCounter
from agentkit.testing import MessagesServer, Reply, estimate_tokens, with_tools

from .histories import answer, conversation, exchange, prompt

pytestmark = pytest.mark.anyio


@dataclass
class Usage:
    input_tokens: int
    output_tokens: int = 0
    cache_read_input_tokens: int | None = None
    cache_creation_input_tokens: int | None = None


def params(messages: list[dict]) -> dict:
    return {"model": "claude-sonnet-4-6", "max_tokens": 512, "system": "Be kind. " * 100, "messages": messages}


async def test_before_any_response_the_whole_estimate_is_uncertain() -> None:
    counter = TokenCounter(model="a-model-never-seen")
    history = conversation(3)
    estimate = counter.estimate(params(history))
    assert isinstance(estimate, Estimate)
    tool_blocks = sum(
        b["type"] in ("tool_use", "tool_result") for m in history for b in m["content"] if isinstance(b, dict)
    )
    assert estimate.error == pytest.approx(UNCALIBRATED_ERROR * estimate, abs=1)
    # a usage limit allows besides for the framing of each tool block, which no calibration set
    assert estimate.framing == pytest.approx(FRAMING_DOUBT * tool_blocks * counter.scale, abs=1)
    assert counter.needs_exact(estimate, int(estimate * 1.2))
    assert not counter.needs_exact(estimate, int(estimate * 2))


async def test_usage_anchors_the_estimate_and_only_the_new_part_is_uncertain() -> None:
    counter = TokenCounter(model="anchor-test")
    history = conversation(3)
    sent = with_tools(params(history))
    counter.observe(
        sent, Usage(input_tokens=1000, cache_read_input_tokens=4000, cache_creation_input_tokens=500, output_tokens=80)
    )
    assert counter.context_tokens == 5500
    assert counter.estimate(sent) == pytest.approx(5500, abs=2)  # calibrated on the exact figure
    reply = answer(9)
    counter.observe(sent, Usage(input_tokens=5500, output_tokens=80), reply)
    grown = params([*history, reply, prompt(10)])
    estimate = counter.estimate(grown)
    assert estimate.error < 0.1 * 0.2 * estimate  # only the new prompt is estimated locally


async def test_the_reply_counts_at_its_output_tokens() -> None:
    counter = TokenCounter(model="reply-test")
    sent = params(conversation(2))
    reply = answer(1, words=400)
    counter.observe(sent, Usage(input_tokens=3000), None)
    without = counter.estimate(params([*sent["messages"], reply]))
    counter.observe(sent, Usage(input_tokens=3000, output_tokens=7), reply)
    with_exact = counter.estimate(params([*sent["messages"], reply]))
    assert with_exact < without  # 400 words estimated locally, 7 tokens in fact
    assert with_exact == pytest.approx(3000 + 7, abs=2)


async def test_dropping_messages_is_uncertain_in_proportion_to_what_was_dropped() -> None:
    counter = TokenCounter(model="drop-test")
    history = conversation(10)
    counter.observe(params(history), Usage(input_tokens=20_000))
    trimmed = counter.estimate(params(history[20:]))
    assert trimmed < 20_000
    dropped_tool_blocks = sum(
        block["type"] in ("tool_use", "tool_result")
        for m in history[:20]
        for block in m["content"]
        if isinstance(block, dict)
    )
    framing = (
        FRAMING_DOUBT * dropped_tool_blocks * counter.scale
    )  # each block's framing, a guess the scale does not set
    assert 0 < trimmed.error <= 0.1 * (20_000 - trimmed) + framing + 2


async def test_many_small_tool_results_are_uncertain_by_their_framing_too() -> None:
    counter = TokenCounter(model="framing-test")
    history = conversation(2)
    counter.observe(params(history), Usage(input_tokens=3_000))
    calls = {
        "role": "assistant",
        "content": [{"type": "tool_use", "id": f"toolu_{k:024d}", "name": "f", "input": {}} for k in range(6)],
    }
    results = {
        "role": "user",
        "content": [{"type": "tool_result", "tool_use_id": f"toolu_{k:024d}", "content": "no"} for k in range(6)],
    }
    grown = counter.estimate(params([*history, calls, results]))
    # Twelve blocks of a few characters each: their framing, not their text, is most of what was added.
    assert grown.error >= FRAMING_DOUBT * 12 * counter.scale


async def test_exact_counts_send_only_the_fields_count_tokens_takes(messages_server: MessagesServer) -> None:
    counter = TokenCounter(model="claude-sonnet-4-6")
    extra = {"metadata": {"user_id": "u1"}, "temperature": 0.5, "stop_sequences": ["X"]}
    body = {**with_tools(params(conversation(2))), **extra}
    counted = await counter.exact(messages_server.client(), body)
    assert counted == estimate_tokens(body)
    assert counter.count_tokens_calls == 1
    assert set(messages_server.count_requests[0].body) == {"model", "messages", "system", "tools"}
    assert counter.estimate(body) == pytest.approx(counted, abs=2)  # the count is the new anchor


async def test_a_new_run_resuming_the_history_adopts_the_last_anchor(messages_server: MessagesServer) -> None:
    messages_server.script(Reply.text("Done."))
    first = TokenCounter(model="claude-sonnet-4-6")
    history = [prompt(0), *exchange("a")]
    sent = with_tools(params(history))
    response = await messages_server.client().messages.create(**sent)
    reply = {"role": "assistant", "content": [b.to_dict() for b in response.content]}
    first.observe(sent, response.usage, reply)
    left = History([*history, reply])  # what a run hands back as result.messages carries its count
    left.anchor = first.carried()
    second = TokenCounter(model="claude-sonnet-4-6")  # the next run: a new counter, the same messages
    given = History([*left, prompt(1)])  # as open_run builds it from history=result.messages
    given.anchor = left.anchor
    resumed = with_tools(params(given))
    estimate = second.estimate(resumed)
    assert second.scale == first.scale
    assert estimate.error < 0.02 * estimate  # not UNCALIBRATED_ERROR * estimate: only the new part
    assert estimate == pytest.approx(estimate_tokens(resumed), rel=0.05)


async def test_a_margin_outside_zero_to_one_is_refused() -> None:
    with pytest.raises(ValueError, match="margin"):
        TokenCounter(margin=1.5)


async def test_a_run_sizes_each_message_of_its_history_once(
    messages_server: MessagesServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The first request of a long history sizes every message; the later ones only what the run
    # appended (a request that is the history grown is told by its length and last message).
    from agentkit import Agent, tool
    from agentkit._loop import sizing
    from agentkit.testing import tool_use

    @tool
    def look(n: int) -> str:
        """Look something up."""
        return "found"

    sized: list[int] = []
    original = sizing._packed
    monkeypatch.setattr(sizing, "_packed", lambda message: sized.append(id(message)) or original(message))
    history = conversation(250)
    messages_server.script(Reply([tool_use("look", {"n": 1})]), Reply([tool_use("look", {"n": 2})]), Reply.text("done"))

    await Agent(model="claude-haiku-4-5", tools=[look], client=messages_server.client()).run("Go.", history=history)

    assert len(messages_server.requests) == 3
    assert len(sized) == len(set(sized))  # no message sized twice
    assert len(sized) == len(messages_server.requests[-1].messages)  # and each one sent, once
