"""The offline server accounts prompt caching like the service: lookback, per-model minimum, TTL, top level."""

from __future__ import annotations

from typing import Any

import pytest

from agentkit.testing import MessagesServer, Reply, estimate_tokens, text, thinking, validate
from agentkit.testing._tokens import PromptCache

CC = {"type": "ephemeral"}
HOUR = {"type": "ephemeral", "ttl": "1h"}
LONG = "Policy clause. " * 600  # about 2,300 tokens


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def conversation(blocks: int, *, mark_last: bool = True, model: str = "claude-sonnet-4-6") -> dict[str, Any]:
    """A long first message, then `blocks` short text blocks in one user message; marker on the last."""
    extra = [text(f"note {k}") for k in range(blocks)]
    if mark_last and extra:
        extra[-1] = {**extra[-1], "cache_control": CC}
    first = [{**text(LONG), **({} if extra else {"cache_control": CC})}]
    return {"model": model, "messages": [{"role": "user", "content": first + extra}]}


def split(usage: dict[str, Any]) -> tuple[int, int, int]:
    return usage["input_tokens"], usage["cache_read_input_tokens"], usage["cache_creation_input_tokens"]


def test_a_read_finds_a_prefix_written_within_twenty_blocks_before_a_breakpoint() -> None:
    cache = PromptCache()
    written = conversation(0)
    cache.usage(written)
    prefix = estimate_tokens(written)
    near = conversation(19)  # the old breakpoint is 19 blocks before the new one
    _, read, write = split(cache.usage(near))
    assert (read, write) == (prefix, estimate_tokens(near) - prefix)


def test_a_prefix_further_back_than_the_lookback_is_not_found() -> None:
    cache = PromptCache()
    cache.usage(conversation(0))
    far = conversation(25)
    _, read, write = split(cache.usage(far))
    assert (read, write) == (0, estimate_tokens(far))


def test_usage_splits_the_prompt_and_input_tokens_exclude_cached_ones() -> None:
    cache = PromptCache()
    for body in (conversation(0), conversation(5), conversation(5)):
        uncached, read, write = split(cache.usage(body))
        assert uncached + read + write == estimate_tokens(body)
    assert split(cache.usage(conversation(5))) == (0, estimate_tokens(conversation(5)), 0)


def test_the_minimum_cacheable_length_is_per_model_and_can_be_overridden() -> None:
    sonnet, haiku = conversation(0), conversation(0, model="claude-haiku-4-5")
    assert estimate_tokens(sonnet) < 4096
    assert split(PromptCache().usage(sonnet))[2] > 0  # Sonnet 4.6 caches from 1,024 tokens
    assert split(PromptCache().usage(haiku))[2] == 0  # Haiku 4.5 needs 4,096
    assert split(PromptCache({"claude-haiku": 100}).usage(haiku))[2] > 0
    assert PromptCache(100).minimum("anything") == 100
    assert MessagesServer(min_cacheable_tokens={"claude-haiku": 100}).cache.minimum("claude-haiku-4-5") == 100


def test_five_minute_entries_expire_one_hour_entries_live_and_reads_refresh() -> None:
    clock = Clock()
    cache = PromptCache(clock=clock)
    short = conversation(0)
    hour = {
        "model": "claude-sonnet-4-6",
        "messages": [{"role": "user", "content": [{**text(LONG + "!"), "cache_control": HOUR}]}],
    }
    cache.usage(short)
    cache.usage(hour)
    clock.now += 240
    assert split(cache.usage(short))[1] > 0  # read: refreshed for another 5 minutes
    clock.now += 240
    assert split(cache.usage(short))[1] > 0
    clock.now += 400
    assert split(cache.usage(short))[1] == 0  # expired: written again
    assert split(cache.usage(hour))[1] > 0  # 1 hour: still there after 880 s


def test_top_level_cache_control_marks_the_last_cacheable_block_not_a_thinking_block() -> None:
    cache = PromptCache()
    body = {
        "model": "claude-sonnet-4-6",
        "cache_control": CC,
        "messages": [
            {"role": "user", "content": LONG},
            {"role": "assistant", "content": [text("Sure."), thinking("hmm")]},
        ],
    }
    thinking_tokens = estimate_tokens({"messages": [{"role": "assistant", "content": [thinking("hmm")]}]})
    assert split(cache.usage(body))[2] == estimate_tokens(body) - thinking_tokens


def test_a_marker_inside_a_tool_result_marks_the_tool_result() -> None:
    cache = PromptCache()
    result = {"type": "tool_result", "tool_use_id": "toolu_1", "content": [{**text(LONG), "cache_control": CC}]}
    body = {
        "model": "claude-sonnet-4-6",
        "messages": [
            {"role": "user", "content": "go"},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "t", "input": {}}]},
            {"role": "user", "content": [result]},
        ],
    }
    assert split(cache.usage(body))[2] == estimate_tokens(body)
    plain = {
        **body,
        "messages": [*body["messages"][:2], {"role": "user", "content": [{**result, "content": [text(LONG)]}]}],
    }
    plain["messages"][2]["content"][0]["cache_control"] = CC
    assert split(cache.usage(plain))[1] == estimate_tokens(body)  # markers are not part of the key


def test_a_one_hour_breakpoint_after_a_five_minute_one_is_rejected() -> None:
    body = {
        "model": "claude-sonnet-4-6",
        "max_tokens": 10,
        "system": [{**text("rules"), "cache_control": CC}],
        "messages": [{"role": "user", "content": [{**text("hi"), "cache_control": HOUR}]}],
    }
    assert "ttl='1h' cannot come after" in (validate(body) or "")
    body["system"][0]["cache_control"] = HOUR
    assert validate(body) is None
    assert validate({**body, "cache_control": HOUR}) is None  # the top level counts as the last
    assert validate({**body, "system": [{**text("rules"), "cache_control": CC}], "cache_control": HOUR})


@pytest.mark.anyio
async def test_the_server_reports_cache_reads_through_the_sdk(messages_server: MessagesServer) -> None:
    messages_server.script(Reply.text("one"), Reply.text("two"))
    client = messages_server.client()
    body = conversation(0)
    first = await client.messages.create(max_tokens=50, **body)
    second = await client.messages.create(max_tokens=50, **body)
    assert first.usage.cache_creation_input_tokens == estimate_tokens(body)
    assert second.usage.cache_read_input_tokens == estimate_tokens(body)
    assert second.usage.input_tokens == 0
