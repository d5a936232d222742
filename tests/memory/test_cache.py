"""Stage 4, breakpoints: where the markers go, what is skipped, what is kept, and the TTL order."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from agentkit._loop.cache import count_breakpoints, place_breakpoints
from agentkit.testing import validate, with_tools

from .histories import body, conversation, exchange, prompt

SYSTEM = "Rules of the shop. " * 600  # about 3,000 tokens
TOOLS = [{"name": f"tool{k}", "description": "d " * 300, "input_schema": {"type": "object"}} for k in range(8)]
CC = {"type": "ephemeral"}
HOUR = {"type": "ephemeral", "ttl": "1h"}


def params(messages: list[dict[str, Any]] | None = None, **fields: Any) -> dict[str, Any]:
    return body(messages or conversation(6), **{"system": SYSTEM, "tools": TOOLS, **fields})


def markers(p: dict[str, Any]) -> dict[str, Any]:
    """Where the markers are: tools / system / message (index, block) / top level."""
    found: dict[str, Any] = {}
    found["tools"] = [i for i, t in enumerate(p.get("tools") or []) if "cache_control" in t]
    system = p.get("system")
    found["system"] = [i for i, b in enumerate(system) if "cache_control" in b] if isinstance(system, list) else []
    found["messages"] = [
        (i, j)
        for i, m in enumerate(p["messages"])
        if isinstance(m["content"], list)
        for j, b in enumerate(m["content"])
        if "cache_control" in b
    ]
    found["top"] = p.get("cache_control")
    return found


def test_auto_places_four_breakpoints_after_tools_system_the_previous_request_and_the_newest() -> None:
    given = params()
    before = copy.deepcopy(given)
    placed = place_breakpoints(given)
    assert given == before  # nothing changed in place
    where = markers(placed)
    assert where["tools"] == [len(TOOLS) - 1]
    assert where["system"] == [0]
    previous = len(given["messages"]) - 3  # the tool results before the newest assistant message
    assert where["messages"] == [(previous, 0)]
    assert where["top"] == CC
    assert count_breakpoints(placed) == 4
    assert validate(placed) is None
    assert placed["messages"][0] is given["messages"][0]  # unmarked messages are shared, not copied


def test_a_string_system_prompt_becomes_one_marked_text_block() -> None:
    placed = place_breakpoints(params())
    assert placed["system"] == [{"type": "text", "text": SYSTEM, "cache_control": CC}]


def test_prefixes_below_the_minimum_cacheable_length_get_no_breakpoint() -> None:
    small = body([prompt(0)], system="Be brief.", tools=[{"name": "t", "input_schema": {"type": "object"}}])
    assert count_breakpoints(place_breakpoints(small)) == 0
    assert count_breakpoints(place_breakpoints(small, min_tokens=1)) == 3  # tools, system, newest


def test_the_model_decides_the_minimum() -> None:
    mid = body(conversation(1), system="Policy. " * 900)  # ~2,000 tokens of system prompt
    assert markers(place_breakpoints({**mid, "model": "claude-sonnet-4-6"}))["system"] == [0]
    assert markers(place_breakpoints({**mid, "model": "claude-haiku-4-5"}))["system"] == []  # needs 4,096


def test_off_sends_no_markers_but_keeps_the_users() -> None:
    given = params()
    given["messages"][0] = {"role": "user", "content": [{"type": "text", "text": "mine", "cache_control": CC}]}
    placed = place_breakpoints(given, mode="off")
    assert count_breakpoints(placed) == 1
    assert placed == given


def test_user_markers_count_toward_four_and_are_kept() -> None:
    given = params()
    mine = [{**t, "cache_control": CC} if k in (1, 3) else t for k, t in enumerate(TOOLS)]
    given = {**given, "tools": mine}
    placed = place_breakpoints(given)
    where = markers(placed)
    assert 1 in where["tools"]
    assert 3 in where["tools"]
    assert count_breakpoints(placed) == 4
    assert where["top"] == CC
    assert where["system"] == [0]
    assert validate(placed) is None


def test_four_user_markers_leave_nothing_to_place() -> None:
    mine = [{**t, "cache_control": CC} if k < 4 else t for k, t in enumerate(TOOLS)]
    placed = place_breakpoints(params(tools=mine))
    assert count_breakpoints(placed) == 4
    assert "cache_control" not in placed


def test_one_hour_goes_on_the_stable_prefix_and_longer_ttls_come_first() -> None:
    placed = place_breakpoints(params(), ttl="1h")
    assert placed["tools"][-1]["cache_control"] == HOUR
    assert placed["system"][0]["cache_control"] == HOUR
    assert placed["cache_control"] == CC  # the newest message changes every request: 5 minutes
    assert validate(placed) is None


def test_markers_before_a_users_one_hour_marker_become_one_hour() -> None:
    messages = conversation(6)
    messages[4] = {"role": "user", "content": [{"type": "text", "text": "Question 1", "cache_control": HOUR}]}
    placed = place_breakpoints(params(messages))
    assert placed["system"][0]["cache_control"] == HOUR
    assert validate(placed) is None


def test_markers_after_a_users_five_minute_marker_stay_five_minutes() -> None:
    mine = [{**t, "cache_control": CC} if k == 0 else t for k, t in enumerate(TOOLS)]
    placed = place_breakpoints(params(tools=mine), ttl="1h")
    assert placed["system"][0]["cache_control"] == CC
    assert validate(placed) is None


def test_the_previous_request_marker_skips_thinking_and_marks_the_last_cacheable_block() -> None:
    messages = [prompt(0, words=3000), *exchange("a", calls=25, think=True), *exchange("b", think=True)]
    placed = place_breakpoints(body(messages))
    previous = len(messages) - 3
    assert markers(placed)["messages"] == [(previous, 24)]
    assert validate(with_tools(placed)) is None


def test_diagnostics_are_asked_for_only_when_given_a_previous_message_id() -> None:
    assert "diagnostics" not in place_breakpoints(params())
    assert place_breakpoints(params(), previous_message_id=None)["diagnostics"] == {"previous_message_id": None}
    assert place_breakpoints(params(), previous_message_id="msg_1")["diagnostics"] == {"previous_message_id": "msg_1"}


def test_an_unknown_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="'auto' or 'off'"):
        place_breakpoints(params(), mode="always")  # type: ignore[arg-type]
