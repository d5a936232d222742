"""The token estimate and the simple prompt-cache ledger, without a server."""

from __future__ import annotations

from typing import Any

import pytest

from agentkit.testing import MessagesServer, estimate_tokens, text
from agentkit.testing._tokens import IMAGE_TOKENS, PromptCache, block_tokens, output_tokens

CACHED = {"type": "ephemeral"}
LONG = "Policy clause. " * 400  # about 1,500 tokens


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def request(*blocks: dict[str, Any], system: Any = None, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": "claude-sonnet-5",
        "messages": [{"role": "user", "content": list(blocks)}],
    }
    return {**body, "system": system, **fields} if system is not None else {**body, **fields}


def test_the_estimate_is_about_a_token_per_four_characters() -> None:
    assert block_tokens(text("x" * 400)) == pytest.approx(100 + 7, abs=2)  # the block's JSON, not just its text
    assert block_tokens({"type": "image", "source": {"type": "base64", "data": "x" * 10**6}}) == IMAGE_TOKENS
    assert output_tokens([]) == 1


def test_the_estimate_ignores_cache_control_and_string_shorthand() -> None:
    plain = request(text(LONG))
    marked = request({**text(LONG), "cache_control": CACHED})
    shorthand = {"model": "m", "messages": [{"role": "user", "content": LONG}]}
    assert estimate_tokens(plain) == estimate_tokens(marked) == estimate_tokens(shorthand)
    with_tools = {
        **plain,
        "tools": [{"name": "add", "input_schema": {"type": "object"}}],
        "system": "Be brief.",
    }
    assert estimate_tokens(with_tools) > estimate_tokens(plain)


def test_a_prefix_below_the_minimum_is_not_cached() -> None:
    cache = PromptCache()
    body = request({**text("short"), "cache_control": CACHED})
    for _ in range(2):
        usage = cache.usage(body)
        assert usage["cache_creation_input_tokens"] == usage["cache_read_input_tokens"] == 0


def test_a_written_prefix_is_read_until_it_expires() -> None:
    clock = Clock()
    cache = PromptCache(clock=clock)
    body = request(text("question"), system=[{**text(LONG), "cache_control": CACHED}])
    prefix = estimate_tokens({"system": [text(LONG)]})
    first = cache.usage(body)
    assert (first["cache_creation_input_tokens"], first["cache_read_input_tokens"]) == (prefix, 0)
    assert first["cache_creation"] == {"ephemeral_5m_input_tokens": prefix, "ephemeral_1h_input_tokens": 0}
    assert first["input_tokens"] == estimate_tokens(body) - prefix
    clock.now += 299  # a hit refreshes the five minutes
    assert cache.usage(body)["cache_read_input_tokens"] == prefix
    clock.now += 299
    assert cache.usage(body)["cache_read_input_tokens"] == prefix
    clock.now += 301
    assert cache.usage(body)["cache_creation_input_tokens"] == prefix


def test_a_one_hour_breakpoint_lives_an_hour() -> None:
    clock = Clock()
    cache = PromptCache(clock=clock)
    body = request({**text(LONG), "cache_control": {"type": "ephemeral", "ttl": "1h"}})
    assert cache.usage(body)["cache_creation"]["ephemeral_1h_input_tokens"] > 0
    clock.now += 3000
    assert cache.usage(body)["cache_read_input_tokens"] > 0


def test_a_growing_conversation_reads_the_old_prefix_and_writes_the_new_part() -> None:
    cache = PromptCache()
    turn1 = [{"role": "user", "content": [{**text(LONG), "cache_control": CACHED}]}]
    turn2 = [*turn1, {"role": "assistant", "content": "Noted."}, {"role": "user", "content": "And " + LONG}]
    turn2[-1] = {"role": "user", "content": [{**text("And " + LONG), "cache_control": CACHED}]}
    first = cache.usage({"model": "m", "messages": turn1})
    second = cache.usage({"model": "m", "messages": turn2})
    third = cache.usage({"model": "m", "messages": turn2})
    total1, total2 = estimate_tokens({"messages": turn1}), estimate_tokens({"messages": turn2})
    assert (first["cache_read_input_tokens"], first["cache_creation_input_tokens"]) == (0, total1)
    assert (second["cache_read_input_tokens"], second["cache_creation_input_tokens"]) == (
        total1,
        total2 - total1,
    )
    assert (third["cache_read_input_tokens"], third["cache_creation_input_tokens"]) == (total2, 0)
    assert third["input_tokens"] == 0


def test_an_edit_before_a_breakpoint_misses_the_cache() -> None:
    cache = PromptCache()
    system = [{**text(LONG), "cache_control": CACHED}]
    cache.usage(request(text("q"), system=system))
    edited = [{**text("Today is Monday. " + LONG), "cache_control": CACHED}]
    assert cache.usage(request(text("q"), system=edited))["cache_read_input_tokens"] == 0


def test_top_level_cache_control_marks_the_last_block() -> None:
    cache = PromptCache()
    body = {"model": "m", "messages": [{"role": "user", "content": LONG}], "cache_control": CACHED}
    assert cache.usage(body)["cache_creation_input_tokens"] == estimate_tokens(body)
    assert cache.usage(body)["cache_read_input_tokens"] == estimate_tokens(body)


def test_the_cache_is_per_model_and_the_minimum_per_server() -> None:
    cache = PromptCache(min_cacheable_tokens=10)
    body = request({**text("a short but cacheable prefix here"), "cache_control": CACHED})
    assert cache.usage(body)["cache_creation_input_tokens"] > 0
    assert cache.usage({**body, "model": "claude-opus-5"})["cache_read_input_tokens"] == 0
    assert MessagesServer(min_cacheable_tokens=10).cache.min_cacheable_tokens == 10
