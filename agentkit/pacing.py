"""Pacing: requests wait for room in the API's rate-limit buckets instead of running into 429s.

The Messages API reports where a client stands on every response, per model, in
`anthropic-ratelimit-{requests,tokens,input-tokens,output-tokens}-{limit,remaining,reset}`: the
bucket's size, what is left (token counts rounded to the nearest thousand), and when it will be
full again (RFC 3339). The buckets refill continuously. Input tokens are charged at the start
(cache reads do not count), output tokens are reserved from `max_tokens` at the start and settled
to the actual count at the end. A 429 says how long to wait in `retry-after`.

A `Pacer` (one per client base URL and model, from `pacer_for`) keeps a local copy of each bucket:

- before a request it waits, first in, first out, until every known bucket has room for the
  request's estimated input tokens, its `max_tokens` and one request, then reserves them;
- after the response it re-reads each bucket from the headers (what was left when the server
  admitted this request, plus the refill since, minus what was reserved since), learns each
  bucket's refill rate from `limit`, `remaining` and `reset` (never an assumed 60-second minute),
  and settles the output reservation to the actual usage;
- a 429 holds everyone back until its `retry-after` has passed.

With no rate-limit headers (another server) it never delays, beyond this: until the first response
from a base URL and model says whether it sends headers at all, one request goes at a time (so a
fan-out of a thousand runs does not start with a thousand requests no bucket could hold). A wait
holds nothing another run could use (nothing is reserved until the wait is over), and a cancelled
wait leaves no trace.

`RunPacing` is what one run uses: it estimates each request, records the time waited (a span
event `agentkit.pacing.wait`, the histogram `agentkit.pacing.wait.duration`, its own `seconds`),
and, once a server is known to pace, sends with the SDK's retries off so that a 429 is retried by
agentkit after `retry-after` and through the pacer, without the SDK's own retry stacking on top.

This module imports neither the SDK nor OpenTelemetry until they are needed.
"""

from __future__ import annotations

import math
import random
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any
from weakref import WeakKeyDictionary

import anyio

if TYPE_CHECKING:
    from opentelemetry.metrics import Histogram, MeterProvider
    from opentelemetry.trace import Span

__all__ = [
    "BUCKETS",
    "Bucket",
    "Pacer",
    "PacedRequest",
    "RateLimitHeaders",
    "RunPacing",
    "Slot",
    "pacer_for",
    "parse_headers",
    "reset",
]

BUCKETS = ("requests", "tokens", "input-tokens", "output-tokens")
"""The bucket names of the `anthropic-ratelimit-{name}-{limit,remaining,reset}` headers."""

_MARGIN = 0.02  # of a bucket's limit kept free, for what the client cannot see (rounding, races)
_ROUNDING = 500  # token counts come rounded to the nearest thousand
_SAMPLES = 32  # refill-rate samples kept per bucket
_PROBE_WAIT = 30.0  # seconds others wait for the first response from a new server before trying
_MAX_RATE_LIMITED = 8  # 429s retried per request (through the pacer), unless max_retries is 0
_RETRY_DELAY, _MAX_RETRY_DELAY = 0.5, 8.0  # the SDK's own backoff, for what it would have retried


# -- the headers ---------------------------------------------------------------------------------


@dataclass(frozen=True)
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
    get = headers.get
    local = time.time() if now is None else now
    date = _http_date(get("date"))  # the server's clock, which the resets are on
    base = local if date is None else date
    skew = 0.0 if date is None or abs(date - local) <= 2.0 else date - local
    buckets: dict[str, Bucket] = {}
    for name in BUCKETS:
        prefix = f"anthropic-ratelimit-{name}-"
        limit, remaining = _number(get(prefix + "limit")), _number(get(prefix + "remaining"))
        if limit is None or remaining is None or limit <= 0:
            continue
        text = get(prefix + "reset")
        reset = _rfc3339(text)
        full_in = None if reset is None else max(0.0, reset - base)
        if full_in == 0.0:
            remaining = limit  # the reset is past: the bucket has refilled
        precision = 0.001 if isinstance(text, str) and "." in text else 1.0
        reset_at = None if reset is None else reset - skew
        buckets[name] = Bucket(int(limit), int(min(max(remaining, 0), limit)), full_in, reset_at, precision)
    return RateLimitHeaders(buckets, _retry_after(get("retry-after-ms"), get("retry-after"), base))


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _rfc3339(value: Any) -> float | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("z", "Z"))
    except ValueError:
        return None
    return moment.timestamp() if moment.tzinfo is not None else None


def _http_date(value: Any) -> float | None:
    if not isinstance(value, str) or not value:
        return None
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


# -- the pacer -----------------------------------------------------------------------------------


class _Level:
    """The local copy of one bucket: its level now, and how fast it refills."""

    __slots__ = ("level", "limit", "name", "rate", "refunded", "reserved", "samples", "stamp", "synced")

    def __init__(self, name: str, limit: int, level: float, now: float) -> None:
        self.name, self.limit, self.level, self.stamp = name, limit, level, now
        self.rate: float | None = None  # per second, learned from the headers
        self.reserved = self.refunded = 0.0  # running totals, to tell what happened since a request
        self.synced = -math.inf  # admission time of the request whose headers were read last
        self.samples: deque[float] = deque(maxlen=_SAMPLES)

    def refill(self, now: float) -> None:
        if self.rate is not None and now > self.stamp:
            self.level = min(float(self.limit), self.level + self.rate * (now - self.stamp))
        self.stamp = now

    def learn(self, bucket: Bucket, sent: float) -> None:
        """A refill-rate sample: at least `limit - remaining` came back by the reset.

        The server took its figures somewhere between `sent` (the Unix time the request left) and
        the response's arrival, so `deficit / (reset - sent)` is a lower bound of the rate, taking
        the deficit at its least (a count rounded down, or to the nearest thousand) and the reset at
        its latest (its resolution). Each sample is a lower bound; the largest of the recent ones
        is the rate: the one whose figures were taken soonest after sending.
        """
        self.limit = bucket.limit
        if bucket.reset_at is None:
            return
        rounding = 1.0 if self.name == "requests" else (_ROUNDING if bucket.remaining % 1000 == 0 else 1.0)
        deficit = bucket.limit - bucket.remaining - rounding
        span = bucket.reset_at + bucket.precision - sent
        if deficit > 0 and span > 0:
            self.samples.append(deficit / span)
            self.rate = max(self.samples)

    def wait(self, cost: float, now: float, in_flight: int) -> float:
        """Seconds until `cost` fits with the margin kept free (inf: until a response teaches more)."""
        self.refill(now)
        need = min(cost, self.limit * (1 - _MARGIN)) + self.limit * _MARGIN
        if self.level >= need:
            return 0.0
        if self.rate:
            return (need - self.level) / self.rate
        return math.inf if in_flight else 0.0


@dataclass
class _Ticket:
    """One admitted request: what it reserved, and each bucket's running totals just after."""

    admitted: float
    wall: float  # the same moment as a Unix time, for the resets
    cost: dict[str, float]
    seen: dict[str, tuple[float, float]]  # bucket -> (reserved, refunded) totals at admission
    probe: bool = False
    done: bool = False


class Pacer:
    """The buckets of one base URL and model, and the requests waiting for room in them.

    Use `pacer_for(client, model)`; `RunPacing` drives it. Directly:

        async with pacer.slot(input_tokens=1200, max_tokens=1024) as slot:
            raw = await client.messages.with_raw_response.create(...)
            slot.record(raw.headers, (await raw.parse()).usage)
    """

    def __init__(self, key: tuple[str, str] = ("", ""), clock: Callable[[], float] = time.monotonic) -> None:
        self.key = key
        self.paces: bool | None = None  # None: no response yet; False: no rate-limit headers seen
        self._clock = clock
        self._levels: dict[str, _Level] = {}
        self._hold = -math.inf  # no request before this (a 429's retry-after)
        self._queue: deque[_Waiter] = deque()
        self._changed: anyio.Event | None = None
        self._in_flight = 0
        self._probe_since: float | None = None
        self.limited_by = ""  # the bucket the last wait was for

    @property
    def waiting(self) -> int:
        """How many requests are waiting for room now."""
        return len(self._queue)

    def levels(self) -> dict[str, tuple[int, float, float | None]]:
        """Each bucket as the pacer sees it now: (limit, level, refill rate per second)."""
        now = self._clock()
        out = {}
        for name, level in self._levels.items():
            level.refill(now)
            out[name] = (level.limit, level.level, level.rate)
        return out

    @asynccontextmanager
    async def slot(self, input_tokens: int, max_tokens: int) -> AsyncIterator[Slot]:
        """Wait for room, reserve it, and yield a `Slot` to `record()` the response on.

        Args:
            input_tokens: The request's estimated input tokens, cache reads left out.
            max_tokens: The request's `max_tokens`, reserved for output until settled.

        Leaving without a record (an error) releases the reservation; an `anthropic.APIStatusError`
        carrying headers is read as a response (a 429 holds every request until `retry-after`).
        """
        ticket, waited = await self.acquire(input_tokens, max_tokens)
        slot = Slot(self, ticket, waited)
        try:
            yield slot
        except BaseException as exc:
            self.release(ticket, getattr(exc, "response", None))
            raise
        finally:
            if not ticket.done:
                self.release(ticket)

    async def acquire(self, input_tokens: int, max_tokens: int) -> tuple[_Ticket, float]:
        """Wait (first in, first out) until the request fits, then reserve it. Returns the seconds waited."""
        cost = {
            "requests": 1.0,
            "input-tokens": float(input_tokens),
            "output-tokens": float(max_tokens),
            "tokens": float(input_tokens + max_tokens),
        }
        started = self._clock()
        if not self._queue and self._delay(cost, started) <= 0:
            return self._reserve(cost, started), 0.0
        waiter = _Waiter()
        self._queue.append(waiter)
        try:
            while True:
                if self._queue[0] is not waiter:
                    await waiter.turn().wait()
                    continue
                delay = self._delay(cost, self._clock())
                if delay <= 0:
                    break
                changed = self._changed = self._changed or anyio.Event()
                with anyio.move_on_after(min(delay, _PROBE_WAIT)):
                    await changed.wait()
        finally:
            head = self._queue[0] is waiter
            self._queue.remove(waiter)
            if head and self._queue:
                self._queue[0].turn().set()
        now = self._clock()
        return self._reserve(cost, now), now - started

    def _delay(self, cost: dict[str, float], now: float) -> float:
        if self.paces is False:
            return 0.0
        if self.paces is None:
            if self._probe_since is None or now - self._probe_since >= _PROBE_WAIT:
                return 0.0  # this request asks first
            return _PROBE_WAIT - (now - self._probe_since)
        delay, self.limited_by = self._hold - now, "retry-after"
        for name, level in self._levels.items():
            wait = level.wait(cost[name], now, self._in_flight)
            if wait > delay:
                delay, self.limited_by = wait, name
        return delay

    def _reserve(self, cost: dict[str, float], now: float) -> _Ticket:
        seen = {}
        for name, level in self._levels.items():
            level.refill(now)
            taken = min(cost[name], float(level.limit))
            level.level -= taken
            level.reserved += taken
            seen[name] = (level.reserved, level.refunded)
        probe = self.paces is None
        if probe:
            self._probe_since = now
        self._in_flight += 1
        return _Ticket(now, time.time(), cost, seen, probe=probe)

    def record(self, ticket: _Ticket, headers: Any, usage: Any) -> None:
        """The response to `ticket` arrived: read its headers, settle to its `usage` (an SDK `Usage`)."""
        self._finish(ticket, parse_headers(headers), usage, status=200)

    def release(self, ticket: _Ticket, response: Any = None) -> None:
        """The request failed; `response` is its error response, if any (a 429's `retry-after` holds)."""
        headers = getattr(response, "headers", None)
        self._finish(ticket, parse_headers(headers), None, status=getattr(response, "status_code", None))

    def _finish(self, ticket: _Ticket, info: RateLimitHeaders, usage: Any, *, status: int | None) -> None:
        if ticket.done:
            return
        ticket.done = True
        self._in_flight -= 1
        now = self._clock()
        if ticket.probe:
            self._probe_since = None
        buckets = info.buckets
        if "input-tokens" in buckets or "output-tokens" in buckets:
            # `tokens` then repeats whichever of the two is tighter: pace on the two themselves.
            buckets = {name: b for name, b in buckets.items() if name != "tokens"}
            self._levels.pop("tokens", None)
        if buckets:
            self.paces = True
        elif self.paces is None and status == 200:
            self.paces = False  # a response with no rate-limit headers: this server is not paced
        rejected = status == 429  # the server charged nothing
        if rejected:
            self._hold = max(self._hold, now + (info.retry_after or 0.0))
        for name, bucket in buckets.items():
            level = self._levels.get(name)
            if level is None:  # first seen: take the server's word
                level = self._levels[name] = _Level(name, bucket.limit, _remaining(name, bucket), now)
                level.learn(bucket, ticket.wall)
                level.synced = ticket.admitted
                continue
            level.learn(bucket, ticket.wall)
            seen = ticket.seen.get(name)
            if seen is not None and ticket.admitted >= level.synced:
                # What was left when the server admitted this request, minus what was reserved
                # since, plus what was given back since. The refill since is left out: when the
                # server took its figure is not known, and leaving it out errs on the safe side by
                # one request's time of refill, which holds the bucket that much fuller, no slower.
                reserved, refunded = level.reserved - seen[0], level.refunded - seen[1]
                told = min(float(level.limit), _remaining(name, bucket) - reserved + refunded)
                level.refill(now)
                # Bad news at once, good news by halves: a request sent earlier may have reached the
                # server after this one, so its figure may lack a reservation the local copy holds.
                level.level = told if told <= level.level else level.level + (told - level.level) / 2
                level.synced = ticket.admitted
        spent = _actual(usage) if usage is not None else None
        for name, level in self._levels.items():
            if name in ticket.seen:
                back = _given_back(name, ticket, level, spent, rejected=rejected)
                if back:
                    level.refill(now)
                    level.level = min(float(level.limit), level.level + back)
                    level.refunded += back
        changed, self._changed = self._changed, None
        if changed is not None:
            changed.set()

    def hold(self, seconds: float) -> None:
        """Hold every request back for `seconds` (what a 429's `retry-after` does)."""
        self._hold = max(self._hold, self._clock() + seconds)


def _remaining(name: str, bucket: Bucket) -> float:
    """What a bucket surely has left: token counts that may have been rounded up are taken 500 lower."""
    if name != "requests" and bucket.remaining % 1000 == 0:
        return float(bucket.remaining - _ROUNDING)
    return float(bucket.remaining)


def _given_back(name: str, ticket: _Ticket, level: _Level, spent: dict[str, float] | None, *, rejected: bool) -> float:
    """What to give back to one bucket when a request ends (negative: charge more).

    Once headers read after the request's admission set the level (`read`), the server's own
    charge at admission is in it (input as counted, output as `max_tokens`, nothing for a 429):
    only the output the server gives back at the end remains. Before that, the local reservation
    is settled to the actual usage. A request that failed otherwise keeps its input charged.
    """
    reserved = min(ticket.cost[name], float(level.limit))
    read = level.synced >= ticket.admitted
    if rejected:
        return 0.0 if read else reserved
    used_out = spent["output-tokens"] if spent else 0.0
    used_in = spent["input-tokens"] if spent else ticket.cost["input-tokens"]
    if name == "requests":
        return 0.0
    if name == "input-tokens":
        return 0.0 if read else reserved - used_in
    if name == "output-tokens":
        return reserved - used_out
    if read:  # tokens: input and output together
        return min(ticket.cost["output-tokens"], reserved) - used_out
    return reserved - used_in - used_out


def _actual(usage: Any) -> dict[str, float]:
    spent_in = float((getattr(usage, "input_tokens", 0) or 0) + (getattr(usage, "cache_creation_input_tokens", 0) or 0))
    spent_out = float(getattr(usage, "output_tokens", 0) or 0)
    return {"requests": 1.0, "input-tokens": spent_in, "output-tokens": spent_out, "tokens": spent_in + spent_out}


class _Waiter:
    __slots__ = ("_turn",)

    def __init__(self) -> None:
        self._turn: anyio.Event | None = None

    def turn(self) -> anyio.Event:
        if self._turn is None:
            self._turn = anyio.Event()
        return self._turn


class Slot:
    """Room reserved for one request; `record()` the response on it."""

    def __init__(self, pacer: Pacer | None, ticket: _Ticket | None, waited: float, client: Any = None) -> None:
        self.pacer, self.ticket, self.waited = pacer, ticket, waited
        self.client = client
        """The client to send with: the SDK's retries are off once the server is known to pace."""
        self.on_record: Callable[[Any], None] | None = None

    def record(self, headers: Any, usage: Any) -> None:
        """The response arrived: `headers` (`raw.headers`, `stream.response.headers`) and its `usage`."""
        if self.pacer is not None and self.ticket is not None:
            self.pacer.record(self.ticket, headers, usage)
        if self.on_record is not None:
            self.on_record(usage)


_pacers: dict[tuple[str, str], Pacer] = {}


def pacer_for(client: Any, model: str) -> Pacer:
    """The pacer shared by every request to `model` through any client with `client`'s base URL.

    Args:
        client: An `anthropic.AsyncAnthropic` (only its `base_url` is read).
        model: The model id of the requests.
    """
    key = (str(getattr(client, "base_url", "")), model)
    pacer = _pacers.get(key)
    if pacer is None:
        pacer = _pacers[key] = Pacer(key)
    return pacer


def reset() -> None:
    """Forget every pacer and what it learned (for tests)."""
    _pacers.clear()
    _no_retries.clear()


# -- one run -------------------------------------------------------------------------------------

_no_retries: WeakKeyDictionary[Any, Any] = WeakKeyDictionary()
_histograms: WeakKeyDictionary[Any, Histogram] = WeakKeyDictionary()


class _Global:
    """Stands for the global meter provider as a weak-referenceable key."""


_GLOBAL = _Global()


class RunPacing:
    """Pacing for one run: every model request of the run goes through `request(...)`.

    Args:
        enabled: False sends every request at once, with the SDK's own retries (the agent's `pacing`).
        estimate: The input-token estimate of a request's params (the run's `TokenCounter.estimate`);
            the tokens the previous response of this run read from or wrote to the cache are taken
            off it, since the next request reads them from the cache.
        span: The span that gets an `agentkit.pacing.wait` event when a request waits (the run's).
        meter_provider: Where the `agentkit.pacing.wait.duration` histogram goes (default: global).

    `seconds` is the total the run's requests waited, for `RunResult.paced_seconds`.
    """

    def __init__(
        self,
        *,
        enabled: bool = True,
        estimate: Callable[[Mapping[str, Any]], int] | None = None,
        span: Span | None = None,
        meter_provider: MeterProvider | None = None,
    ) -> None:
        self.enabled, self.span, self.meter_provider = enabled, span, meter_provider
        self._estimate = estimate or _rough_estimate
        self.seconds = 0.0
        self._cached = 0  # prompt tokens the previous response read from or wrote to the cache

    def request(self, client: Any, params: Mapping[str, Any]) -> PacedRequest:
        """One model request, over as many attempts as it takes.

        Args:
            client: The `AsyncAnthropic` the request would be sent with.
            params: The request's params (`model`, `max_tokens`, `messages`...).
        """
        pacer = pacer_for(client, str(params["model"])) if self.enabled else None
        return PacedRequest(self, pacer, client, params)

    def _waited(self, pacer: Pacer, seconds: float) -> None:
        if pacer.paces is not True and seconds <= 0:
            return
        self.seconds += seconds
        model = pacer.key[1]
        _histogram(self.meter_provider).record(seconds, {"gen_ai.request.model": model})
        if seconds > 0 and self.span is not None and self.span.is_recording():
            self.span.add_event(
                "agentkit.pacing.wait",
                {
                    "agentkit.pacing.seconds": seconds,
                    "agentkit.pacing.limited_by": pacer.limited_by,
                    "gen_ai.request.model": model,
                },
            )

    def _learn(self, usage: Any) -> None:
        if usage is not None:
            self._cached = int(
                (getattr(usage, "cache_read_input_tokens", 0) or 0)
                + (getattr(usage, "cache_creation_input_tokens", 0) or 0)
            )


class PacedRequest:
    """One request's attempts through the pacer (see `RunPacing.request`).

    paced = run_pacing.request(client, params)
    while True:
        try:
            async with paced.attempt() as slot:
                raw = await slot.client.messages.with_raw_response.create(**params)
                slot.record(raw.headers, (await raw.parse()).usage)
            break
        except anthropic.APIError as exc:
            if (delay := paced.retry_delay(exc)) is None:
                raise
            await anyio.sleep(delay)
    """

    def __init__(self, run: RunPacing, pacer: Pacer | None, client: Any, params: Mapping[str, Any]) -> None:
        self.run, self.pacer, self.client, self.params = run, pacer, client, params
        self.rate_limited = self.retried = 0
        self._retries_off = False

    @property
    def retries(self) -> int:
        """How many times this request was sent again by agentkit (429s and what the SDK would retry)."""
        return self.rate_limited + self.retried

    @asynccontextmanager
    async def attempt(self) -> AsyncIterator[Slot]:
        """Wait for room and yield the `Slot` to send with and `record()` on."""
        pacer = self.pacer
        if pacer is None:
            yield Slot(None, None, 0.0, self.client)
            return
        estimate = max(1, int(self.run._estimate(self.params)) - self.run._cached)
        async with pacer.slot(estimate, int(self.params.get("max_tokens") or 0)) as slot:
            self.run._waited(pacer, slot.waited)
            self._retries_off = pacer.paces is True and getattr(self.client, "max_retries", 0) > 0
            slot.client = _without_retries(self.client) if self._retries_off else self.client
            slot.on_record = self.run._learn
            yield slot

    def retry_delay(self, exc: BaseException) -> float | None:
        """Seconds to wait before the next attempt after `exc`, or None to give up.

        Only for an attempt sent with the SDK's retries off: a 429 is retried at once (the pacer
        holds it until `retry-after`), up to 8 times; what the SDK would have retried (408, 409,
        5xx, connection errors) is retried as the SDK would, `max_retries` times. A stream that
        broke after its 200 is not this method's: the caller's own stream retry handles it.
        """
        if not self._retries_off:
            return None
        import anthropic

        max_retries = int(getattr(self.client, "max_retries", 0))
        if isinstance(exc, anthropic.APIStatusError):
            if exc.status_code == 200:
                return None
            if exc.status_code == 429 and self.rate_limited < _MAX_RATE_LIMITED:
                self.rate_limited += 1
                told = parse_headers(exc.response.headers)
                if told.retry_after is not None or told.buckets:
                    return 0.0  # the pacer holds the next attempt until there is room
                return _backoff(self.rate_limited)
            if not _sdk_would_retry(exc.response):
                return None
            wait = parse_headers(exc.response.headers).retry_after
        elif isinstance(exc, anthropic.APIConnectionError):
            wait = None
        else:
            return None
        if self.retried >= max_retries:
            return None
        self.retried += 1
        return wait if wait else _backoff(self.retried)


def _backoff(attempt: int) -> float:
    """The SDK's own backoff before its `attempt`-th retry: 0.5 s doubling to 8 s, less up to a quarter."""
    return float(min(_RETRY_DELAY * 2 ** (attempt - 1), _MAX_RETRY_DELAY)) * (1 - 0.25 * random.random())


def _sdk_would_retry(response: Any) -> bool:
    should = response.headers.get("x-should-retry")
    if should in ("true", "false"):
        return bool(should == "true")
    return bool(response.status_code in (408, 409, 429) or response.status_code >= 500)


def _without_retries(client: Any) -> Any:
    """`client` with the SDK's retries off (made once per client)."""
    found = _no_retries.get(client)
    if found is None:
        found = _no_retries[client] = client.with_options(max_retries=0)
    return found


def _histogram(provider: MeterProvider | None) -> Histogram:
    key = _GLOBAL if provider is None else provider
    found = _histograms.get(key)
    if found is None:
        from opentelemetry import metrics

        from . import __version__

        meter = metrics.get_meter("agentkit", __version__, meter_provider=provider)
        found = _histograms[key] = meter.create_histogram(
            "agentkit.pacing.wait.duration",
            unit="s",
            description="Time a model request waited for room in the API's rate limits.",
        )
    return found


def _rough_estimate(params: Mapping[str, Any]) -> int:
    """About 4 characters a token, over the system prompt, the tools and the messages."""
    size = len(str(params.get("system") or "")) + len(str(params.get("tools") or ""))
    size += len(str(params.get("messages") or ""))
    return size // 4
