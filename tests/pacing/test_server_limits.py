"""The offline server's rate limits: buckets per model, the API's headers on every response, 429s."""

from __future__ import annotations

import time
from datetime import datetime

import anthropic
import pytest

from agentkit.testing import MessagesServer, RateLimits, Reply

ASK = {"model": "claude-sonnet-4-6", "messages": [{"role": "user", "content": "Hello there"}]}


def remaining(raw: anthropic.APIResponse, name: str) -> int:  # type: ignore[type-arg]
    return int(raw.headers[f"anthropic-ratelimit-{name}-remaining"])


def test_every_response_carries_the_headers_and_a_reset_in_rfc_3339() -> None:
    limits = RateLimits(requests_per_minute=50, input_tokens_per_minute=30_000, output_tokens_per_minute=8_000)
    with MessagesServer(lambda r: Reply.text("hi"), rate_limits=limits) as server:
        client = server.sync_client()
        before = time.time()
        raw = client.messages.with_raw_response.create(**ASK, max_tokens=1000)
        with client.messages.stream(**ASK, max_tokens=1000) as stream:
            streamed = stream.response.headers
    for headers in (raw.headers, streamed):
        for name, limit in (("requests", 50), ("input-tokens", 30_000), ("output-tokens", 8_000), ("tokens", 8_000)):
            assert headers[f"anthropic-ratelimit-{name}-limit"] == str(limit)
            reset = datetime.fromisoformat(headers[f"anthropic-ratelimit-{name}-reset"])
            assert reset.tzinfo is not None
            assert before < reset.timestamp() <= time.time() + 60
        assert int(headers["anthropic-ratelimit-input-tokens-remaining"]) % 1000 == 0  # rounded, as the API does
    assert remaining(raw, "requests") == 49
    assert remaining(raw, "output-tokens") == 7_000  # max_tokens reserved until the end
    assert int(streamed["anthropic-ratelimit-requests-remaining"]) == 48


def test_past_a_limit_the_answer_is_a_429_with_retry_after_and_the_headers() -> None:
    limits = RateLimits(requests_per_minute=2, minute=30.0)
    with MessagesServer(lambda r: Reply.text("hi"), rate_limits=limits) as server:
        client = server.sync_client(max_retries=0)
        client.messages.create(**ASK, max_tokens=10)
        client.messages.create(**ASK, max_tokens=10)
        with pytest.raises(anthropic.RateLimitError) as caught:
            client.messages.create(**ASK, max_tokens=10)
        other = client.messages.with_raw_response.create(**{**ASK, "model": "claude-haiku-4-5"}, max_tokens=10)
    headers = caught.value.response.headers
    assert caught.value.type == "rate_limit_error"  # type: ignore[attr-defined]
    assert 14 <= float(headers["retry-after-ms"]) / 1000 <= 15  # one request refills in 15 s
    assert headers["retry-after"] == "15"
    assert headers["anthropic-ratelimit-requests-remaining"] == "0"
    assert server.rate_limiter is not None
    assert server.rate_limiter.rejected == 1
    assert remaining(other, "requests") == 1  # each model has its own buckets


def test_output_is_reserved_from_max_tokens_and_settled_to_what_was_produced() -> None:
    limits = RateLimits(output_tokens_per_minute=10_000, minute=3600.0, round_tokens=False)
    with MessagesServer(lambda r: Reply.text("Four words of answer."), rate_limits=limits) as server:
        client = server.sync_client()
        first = client.messages.with_raw_response.create(**ASK, max_tokens=6_000)
        produced = first.parse().usage.output_tokens
        second = client.messages.with_raw_response.create(**ASK, max_tokens=6_000)
    assert remaining(first, "output-tokens") == 4_000
    assert remaining(second, "output-tokens") == pytest.approx(10_000 - produced - 6_000, abs=2)


def test_input_tokens_count_cache_writes_but_not_cache_reads() -> None:
    system = [{"type": "text", "text": "You answer questions. " * 200, "cache_control": {"type": "ephemeral"}}]
    limits = RateLimits(input_tokens_per_minute=100_000, minute=3600.0, round_tokens=False)
    with MessagesServer(lambda r: Reply.text("ok"), rate_limits=limits, min_cacheable_tokens=100) as server:
        client = server.sync_client()
        first = client.messages.with_raw_response.create(**ASK, system=system, max_tokens=10)
        second = client.messages.with_raw_response.create(**ASK, system=system, max_tokens=10)
    written, read = first.parse().usage, second.parse().usage
    assert written.cache_creation_input_tokens
    assert read.cache_read_input_tokens
    charged_first = 100_000 - remaining(first, "input-tokens")
    charged_second = remaining(first, "input-tokens") - remaining(second, "input-tokens")
    assert charged_first == pytest.approx(written.input_tokens + written.cache_creation_input_tokens, abs=2)
    assert charged_second == pytest.approx(read.input_tokens, abs=2)  # the cached prefix is free


def test_a_scaled_minute_refills_faster_and_the_reset_says_so() -> None:
    limits = RateLimits(requests_per_minute=100, minute=2.0)
    with MessagesServer(lambda r: Reply.text("hi"), rate_limits=limits) as server:
        client = server.sync_client()
        before = time.time()
        raw = client.messages.with_raw_response.create(**ASK, max_tokens=10)
        after = time.time()
    reset = datetime.fromisoformat(raw.headers["anthropic-ratelimit-requests-reset"]).timestamp()
    assert before < reset <= after + 0.02 + 0.001  # one request of 100 comes back in 1/100 of 2 s


def test_limits_are_checked() -> None:
    with pytest.raises(ValueError, match="minute must last more than 0 seconds"):
        RateLimits(minute=0)
    with pytest.raises(ValueError, match="requests_per_minute=0"):
        RateLimits(requests_per_minute=0)
