"""The `anthropic-ratelimit-*` and `retry-after` headers of a response, read leniently."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

BUCKETS = ("requests", "tokens", "input-tokens", "output-tokens")
"""The bucket names of the `anthropic-ratelimit-{name}-{limit,remaining,reset}` headers."""
_NAMES = [
    (name, *(f"anthropic-ratelimit-{name}-{part}" for part in ("limit", "remaining", "reset"))) for name in BUCKETS
]
_READ = ("anthropic-ratelimit-", "retry-after", "date")
_READ_BYTES = tuple(name.encode() for name in _READ)
_FIRST = frozenset(ord(c) for name in _READ for c in (name[0], name[0].upper()))  # to pass the others at once
_PARSED: dict[tuple[str, str], float | None] = {}  # (format, text) -> time: resets repeat across buckets


@dataclass(slots=True)  # not frozen: made four times per response, and a frozen init costs twice as much
class Bucket:
    """One bucket as a response reported it.

    `full_in` is the seconds until it is full again, measured on the server's clock (its `date`
    header) when it sent one; 0 when the reset is now or past; None when the header is missing.
    `reset_at` is the reset as a Unix time on the local clock (shifted by the `date` header when
    the clocks differ by more than 2 s), and `precision` the reset's resolution in seconds.
    """

    limit: int
    remaining: int
    full_in: float | None
    reset_at: float | None = field(default=None, compare=False)
    precision: float = field(default=0.0, compare=False)


@dataclass(frozen=True)
class RateLimitHeaders:
    """What one response said about the rate limits: the buckets it reported, and `retry-after`."""

    buckets: dict[str, Bucket] = field(default_factory=dict)
    retry_after: float | None = None


def parse_headers(headers: Any, *, now: float | None = None) -> RateLimitHeaders:
    """Read the rate-limit headers of a response; missing or malformed ones are left out.

    Args:
        headers: The response headers (`raw.headers`, or any mapping with lower-case names).
        now: The current Unix time, for a response without a `date` header (default: the clock).

    A bucket needs its `limit` and `remaining`; a reset in the past means it is full by now.
    """
    if headers is None:
        return RateLimitHeaders()
    # One pass over the headers, keeping the few read below: `httpx2.Headers.get` walks every
    # header per name asked for, and `dict(headers.items())` decodes and joins all of them.
    raw = getattr(headers, "raw", None)  # httpx2.Headers: undecoded pairs, names in the case sent
    if raw is not None:
        headers = {
            name.lower().decode("latin-1"): value.decode("latin-1")
            for name, value in raw
            if name and name[0] in _FIRST and name.lower().startswith(_READ_BYTES)
        }
    elif hasattr(headers, "items"):
        headers = {name: value for name, value in headers.items() if name.startswith(_READ)}
    if len(headers) <= ("date" in headers):
        return RateLimitHeaders()  # nothing to read (a server that does not send them)
    get = headers.get
    local = time.time() if now is None else now
    date = _http_date(get("date"))  # the server's clock, which the resets are on
    base = local if date is None else date
    skew = 0.0 if date is None or abs(date - local) <= 2.0 else date - local
    buckets: dict[str, Bucket] = {}
    for name, limit_name, remaining_name, reset_name in _NAMES:
        limit, remaining = _number(get(limit_name)), _number(get(remaining_name))
        if limit is None or remaining is None or limit <= 0:
            continue
        text = get(reset_name)
        reset = _rfc3339(text)
        full_in = None if reset is None else max(0.0, reset - base)
        if full_in == 0.0:
            remaining = limit  # the reset is past: the bucket has refilled
        precision = 0.001 if isinstance(text, str) and "." in text else 1.0
        reset_at = None if reset is None else reset - skew
        buckets[name] = Bucket(int(limit), int(min(max(remaining, 0), limit)), full_in, reset_at, precision)
    return RateLimitHeaders(buckets, _retry_after(get("retry-after-ms"), get("retry-after"), base))


def _number(value: Any) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _rfc3339(value: Any) -> float | None:
    if not isinstance(value, str) or not value:
        return None
    key = ("rfc3339", value)
    if key not in _PARSED:
        _remember(key, _parse_rfc3339(value))
    return _PARSED[key]


def _remember(key: tuple[str, str], moment: float | None) -> None:
    if len(_PARSED) >= 64:  # a few distinct resets at a time; old ones never come back
        _PARSED.clear()
    _PARSED[key] = moment


def _parse_rfc3339(value: str) -> float | None:
    try:
        moment = datetime.fromisoformat(value.strip().replace("z", "Z"))
    except ValueError:
        return None
    return moment.timestamp() if moment.tzinfo is not None else None


def _http_date(value: Any) -> float | None:
    if not isinstance(value, str) or not value:
        return None
    key = ("http-date", value)
    if key not in _PARSED:
        _remember(key, _parse_http_date(value))
    return _PARSED[key]


def _parse_http_date(value: str) -> float | None:
    try:
        return parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError):
        return None


def _retry_after(ms: Any, seconds: Any, base: float) -> float | None:
    for value, scale in ((ms, 1000.0), (seconds, 1.0)):
        number = _number(value)
        if number is not None:
            return max(0.0, number / scale)
    moment = _http_date(seconds)
    return None if moment is None else max(0.0, moment - base)
