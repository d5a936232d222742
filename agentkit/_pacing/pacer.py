"""`Pacer`: the buckets of one base URL and model, and the requests waiting for room in them."""

from __future__ import annotations

import contextlib
import math
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import anyio

from .._endpoint import base_url_of
from .headers import Bucket, RateLimitHeaders, parse_headers
from .turns import one_per_turn, running_loop

_MARGIN = 0.02  # of a bucket's limit kept free, for what the client cannot see (rounding, races)
_ROUNDING = 500  # token counts come rounded to the nearest thousand
_SAMPLES = 32  # refill-rate samples kept per bucket
_PROBE_WAIT = 30.0  # seconds others wait for the first response from a new server before trying
_ROOMY = 0.5  # while every bucket is over half full...
_FRESH_FOR = 0.25  # ...a reading of the headers stays good this many seconds (see `Pacer.record`)


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
    scale: float = 1.0  # the input scale `cost` was reckoned at


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
        self._queue: deque[_Waiter] = deque()  # of every event loop using this pacer, first come first
        self._in_flight = 0
        self._open: deque[_Ticket] = deque()  # requests in flight, oldest first (done ones dropped lazily)
        self._probe_since: float | None = None
        self.limited_by = ""  # the bucket the last wait was for
        self._read_at = -math.inf  # when a response's headers were last read
        self.input_scale = 1.0  # actual input tokens over the estimates: raised at once, lowered slowly

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

        def cost() -> dict[str, float]:  # at the current input scale, which a response may raise
            scaled = float(math.ceil(input_tokens * self.input_scale))
            output = float(max_tokens)
            return {"requests": 1.0, "input-tokens": scaled, "output-tokens": output, "tokens": scaled + output}

        await one_per_turn()  # a burst goes out a request per turn of the loop (not a wait for room)
        started = self._clock()
        if not self._queue and self._delay(cost(), started) <= 0:
            return self._reserve(cost(), started), 0.0
        waiter = _Waiter()
        self._queue.append(waiter)
        try:
            while True:
                if self._queue[0] is not waiter:
                    await waiter.wait()  # until the one ahead leaves
                    continue
                delay = self._delay(cost(), self._clock())
                if delay <= 0:
                    break
                await waiter.wait(min(delay, _PROBE_WAIT))  # or until a response changes the levels
        finally:
            head = self._queue[0] is waiter
            self._queue.remove(waiter)
            if head:
                self._wake_head()
        now = self._clock()
        return self._reserve(cost(), now), now - started

    def _wake_head(self) -> None:
        if self._queue:  # after every response: mostly nobody waits
            with contextlib.suppress(IndexError):  # emptied meanwhile by another thread's loop
                self._queue[0].wake()

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
        self._open.append(ticket := _Ticket(now, time.time(), cost, seen, probe=probe, scale=self.input_scale))
        return ticket

    def record(self, ticket: _Ticket, headers: Any, usage: Any) -> None:
        """The response to `ticket` arrived: read its headers, settle to its `usage` (an SDK `Usage`).

        While every bucket is over half full, the headers are read at most every quarter second:
        the local accounting of what each request reserved and used holds the levels in between,
        and a reading only corrects them for what other clients spent. Near a limit (or before the
        server is known to pace), every response is read. Reading one costs about a fifth of what
        the pacer spends on a request.
        """
        now = self._clock()
        if self.paces is True and now - self._read_at < _FRESH_FOR and self._roomy():
            self._finish(ticket, _UNREAD, usage, status=200)
            return
        self._read_at = now
        self._finish(ticket, parse_headers(headers), usage, status=200)

    def _roomy(self) -> bool:
        return all(level.level > _ROOMY * level.limit for level in self._levels.values())

    def release(self, ticket: _Ticket, response: Any = None) -> None:
        """The request failed; `response` is its error response, if any (a 429's `retry-after` holds)."""
        headers = getattr(response, "headers", None)
        self._finish(ticket, parse_headers(headers), None, status=getattr(response, "status_code", None))

    def _finish(self, ticket: _Ticket, info: RateLimitHeaders, usage: Any, *, status: int | None) -> None:
        if ticket.done:
            return
        ticket.done = True
        self._in_flight -= 1
        while self._open and self._open[0].done:
            self._open.popleft()
        oldest = not self._open or self._open[0].admitted >= ticket.admitted  # nothing sent earlier is out
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
                # Bad news at once; good news only from the oldest request in flight: one sent earlier
                # may have reached the server after this one, and its figure would then lack it.
                if told <= level.level or oldest:
                    level.level, level.synced = told, ticket.admitted
        spent = _actual(usage) if usage is not None else None
        if spent is not None and ticket.cost["input-tokens"] > 0:
            # Actual over the raw estimate, by the scale this ticket was reckoned at: with many requests in
            # flight, the scale now may already count the error (reckoned by it, the scale compounded to inf).
            ratio = ticket.scale * spent["input-tokens"] / ticket.cost["input-tokens"]
            self.input_scale = ratio if ratio > self.input_scale else 0.95 * self.input_scale + 0.05 * ratio
        for name, level in self._levels.items():
            if name in ticket.seen:
                back = _given_back(name, ticket, level, spent, rejected=rejected)
                if back:
                    level.refill(now)
                    level.level = min(float(level.limit), level.level + back)
                    level.refunded += back
        self._wake_head()

    def hold(self, seconds: float) -> None:
        """Hold every request back for `seconds` (what a 429's `retry-after` does)."""
        self._hold = max(self._hold, self._clock() + seconds)


_UNREAD = RateLimitHeaders()


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
    """A request in a pacer's queue. It may be woken from another thread: a pacer is shared by every
    event loop of the process, so the wake goes through its own loop's `call_soon_threadsafe`."""

    __slots__ = ("_event", "_loop", "_woken")

    def __init__(self) -> None:
        self._loop = running_loop()
        self._event: anyio.Event | None = None
        self._woken = False

    async def wait(self, at_most: float = math.inf) -> None:
        """Until woken, or `at_most` seconds; a wake that came first is not lost."""
        if not self._woken:
            event = self._event = anyio.Event()
            if not self._woken:  # looked at again once `_event` is published, for a wake in between
                with anyio.move_on_after(at_most):
                    await event.wait()
        self._woken, self._event = False, None

    def wake(self) -> None:
        self._woken = True
        event, loop = self._event, self._loop
        if event is None:
            return
        if loop is None or loop is running_loop():
            event.set()
            return
        with contextlib.suppress(RuntimeError):  # that loop has closed: nothing waits there any more
            loop.call_soon_threadsafe(event.set)


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
        elif self.pacer is not None and headers is not None and _limited(headers):
            self.pacer.paces = None  # a server that sent no rate-limit headers now does: learn them
        if self.on_record is not None:
            self.on_record(usage)


def _limited(headers: Any) -> bool:
    """Whether `headers` carry the rate-limit header every paced server sends (one look-up)."""
    return headers.get("anthropic-ratelimit-requests-remaining") is not None


registry: dict[tuple[str, str], Pacer] = {}  # (base URL, model) -> its pacer


def pacer_for(client: Any, model: str) -> Pacer:
    """The pacer shared by every request to `model` through any client with `client`'s base URL.

    Args:
        client: An `anthropic.AsyncAnthropic` (only its `base_url` is read).
        model: The model id of the requests.
    """
    key = (base_url_of(client), model)
    pacer = registry.get(key)
    if pacer is None:
        pacer = registry[key] = Pacer(key)
    return pacer
