"""Reading the API's rate-limit headers: every header, missing ones, a reset in the past."""

from __future__ import annotations

import httpx2
import pytest

from agentkit.pacing import Bucket, parse_headers
from agentkit.testing._ratelimit import rfc3339

NOW = 1_796_000_000.0  # a Unix time; RFC 3339 below is relative to it


def test_every_bucket_and_retry_after_are_read() -> None:
    headers = {
        "anthropic-ratelimit-requests-limit": "400",
        "anthropic-ratelimit-requests-remaining": "399",
        "anthropic-ratelimit-requests-reset": rfc3339(NOW + 0.15),
        "anthropic-ratelimit-tokens-limit": "200000",
        "anthropic-ratelimit-tokens-remaining": "150000",
        "anthropic-ratelimit-tokens-reset": rfc3339(NOW + 15),
        "anthropic-ratelimit-input-tokens-limit": "200000",
        "anthropic-ratelimit-input-tokens-remaining": "150000",
        "anthropic-ratelimit-input-tokens-reset": rfc3339(NOW + 15),
        "anthropic-ratelimit-output-tokens-limit": "40000",
        "anthropic-ratelimit-output-tokens-remaining": "39000",
        "anthropic-ratelimit-output-tokens-reset": rfc3339(NOW + 1.5),
        "retry-after": "2",
    }
    info = parse_headers(httpx2.Headers(headers), now=NOW)
    assert info.buckets["requests"] == Bucket(400, 399, pytest.approx(0.15, abs=0.002))
    assert info.buckets["tokens"] == Bucket(200_000, 150_000, pytest.approx(15, abs=0.002))
    assert info.buckets["input-tokens"] == Bucket(200_000, 150_000, pytest.approx(15, abs=0.002))
    assert info.buckets["output-tokens"] == Bucket(40_000, 39_000, pytest.approx(1.5, abs=0.002))
    assert info.retry_after == 2.0


def test_the_reset_is_read_on_the_servers_clock_when_it_sends_a_date() -> None:
    headers = {
        "date": "Tue, 01 Dec 2026 09:20:00 GMT",
        "anthropic-ratelimit-requests-limit": "50",
        "anthropic-ratelimit-requests-remaining": "0",
        "anthropic-ratelimit-requests-reset": "2026-12-01T09:20:06Z",  # whole seconds, as the API sends
    }
    info = parse_headers(headers, now=NOW + 3600)  # the local clock is an hour off: it does not matter
    assert info.buckets["requests"] == Bucket(50, 0, 6.0)


def test_a_reset_in_the_past_means_the_bucket_is_full_again() -> None:
    headers = {
        "anthropic-ratelimit-requests-limit": "50",
        "anthropic-ratelimit-requests-remaining": "3",
        "anthropic-ratelimit-requests-reset": rfc3339(NOW - 5),
    }
    assert parse_headers(headers, now=NOW).buckets["requests"] == Bucket(50, 50, 0.0)


def test_missing_and_malformed_headers_leave_their_bucket_out() -> None:
    headers = {
        "anthropic-ratelimit-requests-limit": "50",  # no remaining: not a bucket
        "anthropic-ratelimit-input-tokens-limit": "lots",
        "anthropic-ratelimit-input-tokens-remaining": "10",
        "anthropic-ratelimit-output-tokens-limit": "8000",
        "anthropic-ratelimit-output-tokens-remaining": "7000",
        "anthropic-ratelimit-output-tokens-reset": "next tuesday",  # kept, with no reset
        "retry-after": "soon",
    }
    info = parse_headers(headers, now=NOW)
    assert info.buckets == {"output-tokens": Bucket(8000, 7000, None)}
    assert info.retry_after is None
    assert parse_headers({}, now=NOW).buckets == {}
    assert parse_headers(None).buckets == {}


def test_retry_after_ms_wins_over_seconds_and_an_http_date_is_read() -> None:
    assert parse_headers({"retry-after-ms": "250", "retry-after": "1"}, now=NOW).retry_after == 0.25
    date = {"date": "Tue, 01 Dec 2026 09:20:00 GMT", "retry-after": "Tue, 01 Dec 2026 09:20:30 GMT"}
    assert parse_headers(date).retry_after == 30.0
