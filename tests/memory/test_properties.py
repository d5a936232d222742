"""Random histories trimmed to many budgets: always a request the API accepts, within budget, <= 4 breakpoints."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentkit import MemoryBudgetExceeded
from agentkit._loop.cache import count_breakpoints, place_breakpoints
from agentkit._loop.sizing import LOCAL
from agentkit._loop.trim import trim
from agentkit.testing import text, thinking, validate

from .histories import exchange

SYSTEM = "House rules. " * 500
TOOLS = [{"name": "lookup", "description": "Look things up. " * 40, "input_schema": {"type": "object"}}]


@st.composite
def histories(draw: st.DrawFn) -> tuple[list[dict[str, Any]], bool, int]:
    """(history, thinking on, index of the current run's prompt)."""
    think = draw(st.booleans())
    marks = draw(st.lists(st.sampled_from(["1h", "5m"]), max_size=2))
    marks.sort()  # "1h" before "5m": the user's own markers in a valid order
    messages: list[dict[str, Any]] = []
    counter = 0

    def user_prompt() -> dict[str, Any]:
        words = "word " * draw(st.integers(1, 400))
        if marks and draw(st.booleans()):
            ttl = marks.pop(0)
            control = {"type": "ephemeral", **({"ttl": "1h"} if ttl == "1h" else {})}
            return {"role": "user", "content": [{**text(words), "cache_control": control}]}
        return {"role": "user", "content": words if draw(st.booleans()) else [text(words)]}

    def tool_exchange() -> list[dict[str, Any]]:
        nonlocal counter
        calls = draw(st.integers(1, 4))
        uses = []
        for _ in range(calls):
            counter += 1
            uses.append({"type": "tool_use", "id": f"toolu_{counter}", "name": "lookup", "input": {"n": counter}})
        head = [thinking(f"plan {counter}")] if think else []
        results = [
            {
                "type": "tool_result",
                "tool_use_id": u["id"],
                "content": "x" * draw(st.integers(1, 3000)),
                **({"is_error": True} if draw(st.integers(0, 5)) == 0 else {}),
            }
            for u in uses
        ]
        return [{"role": "assistant", "content": [*head, text("calling"), *uses]}, {"role": "user", "content": results}]

    for _ in range(draw(st.integers(0, 7))):
        messages.append(user_prompt())
        for _ in range(draw(st.integers(0, 3))):
            messages += tool_exchange()
        if draw(st.booleans()):
            messages.append({"role": "assistant", "content": [text("answer " * draw(st.integers(1, 200)))]})
    start = len(messages)
    messages.append(user_prompt())
    for _ in range(draw(st.integers(0, 4))):
        messages += tool_exchange()
    return messages, think, start


def request(messages: list[dict[str, Any]], think: bool) -> dict[str, Any]:
    params: dict[str, Any] = {"model": "claude-sonnet-4-6", "max_tokens": 4096, "system": SYSTEM, "tools": TOOLS}
    if think:
        params["thinking"] = {"type": "enabled", "budget_tokens": 1024}
    return {**params, "messages": messages}


def user_markers(messages: list[dict[str, Any]]) -> list[int]:
    return [
        id(b)
        for m in messages
        if isinstance(m["content"], list)
        for b in m["content"]
        if b.get("cache_control") is not None
    ]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    histories(),
    st.floats(0.05, 1.2),
    st.booleans(),
    st.sets(st.integers(0, 40), max_size=3),
    st.sampled_from([0.5, 0.6, 0.75]),
    st.sampled_from(["5m", "1h"]),
)
def test_trimmed_histories_are_valid_within_budget_and_cached_with_at_most_four_breakpoints(
    case: tuple[list[dict[str, Any]], bool, int],
    fraction: float,
    keep_first: bool,
    pins: set[int],
    low_watermark: float,
    ttl: str,
) -> None:
    messages, think, start = case
    assert validate(request(messages, think)) is None  # the generator builds valid histories
    overhead = LOCAL.facts([{"role": "user", "content": SYSTEM}]).cum[-1] + 400
    budget = max(1, int(fraction * (LOCAL.facts(messages).cum[-1] + overhead)))
    pinned = {p for p in pins if p < len(messages)}
    options: dict[str, Any] = {"keep_first": keep_first, "pinned": pinned, "low_watermark": low_watermark}
    try:
        result = trim(messages, budget=budget, overhead=overhead, turn_start=start, **options)
    except MemoryBudgetExceeded as error:
        required = error.required
    else:
        required = 0
    if required:
        assert required > budget
        return
    assert result.tokens <= budget
    assert result.tokens == overhead + LOCAL.facts(result.messages).cum[-1]
    assert messages[start] in result.messages  # the task of the run is never dropped
    assert all(messages[p] in result.messages for p in pinned)
    sent = request(result.messages, think)
    assert validate(sent) is None
    placed = place_breakpoints(sent, ttl=ttl)  # type: ignore[arg-type]
    assert count_breakpoints(placed) <= 4
    assert set(user_markers(result.messages)) <= set(user_markers(placed["messages"]))  # the user's stay
    assert validate(placed) is None


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    histories(),
    st.lists(st.tuples(st.integers(1, 3), st.integers(1, 2500), st.floats(0.8, 1.3)), min_size=1, max_size=8),
    st.floats(0.1, 0.9),
    st.booleans(),
    st.sampled_from([0.5, 0.6, 0.75]),
)
def test_a_runs_trims_as_its_history_grows_are_the_trims_of_each_request_afresh(
    case: tuple[list[dict[str, Any]], bool, int],
    growth: list[tuple[int, int, float]],
    fraction: float,
    keep_first: bool,
    low_watermark: float,
) -> None:
    # A run's counter keeps how trimming laid out its history, and lays out only what each request
    # adds (agentkit/_loop/trim.py's _Layout); every request must trim exactly as a fresh start would,
    # while the scale moves with each response.
    from agentkit._loop.tokens import TokenCounter

    messages, _, start = case
    overhead = 400
    budget = max(1, int(fraction * (LOCAL.facts(messages).cum[-1] + overhead)))
    options: dict[str, Any] = {"keep_first": keep_first, "low_watermark": low_watermark, "turn_start": start}
    run = TokenCounter(model="claude-sonnet-4-6")
    history = list(messages)
    for step, (calls, size, scale) in enumerate(growth):
        run.scale = scale
        afresh = TokenCounter(model="claude-sonnet-4-6")
        afresh.scale = scale
        try:
            expected = trim(history, budget=budget, overhead=overhead, measure=afresh, **options)
        except MemoryBudgetExceeded:
            with pytest.raises(MemoryBudgetExceeded):
                trim(history, budget=budget, overhead=overhead, measure=run, **options)
            return
        got = trim(history, budget=budget, overhead=overhead, measure=run, **options)
        assert (got.tokens, got.dropped) == (expected.tokens, expected.dropped)
        assert [id(m) for m in got.messages] == [id(m) for m in expected.messages]
        history += exchange(f"grown{step}", calls, size=size)
