"""Rate limits for the offline server: per-model token buckets, the API's headers, and 429s past them.

Like the Messages API (docs.anthropic.com/en/api/rate-limits), each model has its own buckets of
requests, input tokens and output tokens per minute, refilling continuously up to their limit.
A request is admitted only if every bucket holds what it needs: one request; its input tokens,
cache reads left out (input plus cache writes, as its usage will report them); and its
`max_tokens` of output, reserved at the start and settled to the tokens produced at the end.
Otherwise it gets a 429 `rate_limit_error` with `retry-after` (and `retry-after-ms`): how long until
the short bucket will hold it. Every response to `/v1/messages` carries
`anthropic-ratelimit-{requests,tokens,input-tokens,output-tokens}-{limit,remaining,reset}`: the
level after this request's admission, token counts rounded to the nearest thousand (as the API
does; `round_tokens=False` gives exact ones), and when the bucket will be full again (RFC 3339).
`tokens-*` repeats whichever of input or output has the smaller share left.

`minute` scales time: `RateLimits(requests_per_minute=400, minute=3.0)` refills 400 requests every
3 seconds, so a test's minute passes quickly; the headers say so through their reset times.

    with MessagesServer(handler, rate_limits=RateLimits(requests_per_minute=60, minute=1.0)) as server:
        ...
        assert server.rate_limiter.rejected == 0
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agentkit.testing._script import Request

__all__ = ["RateLimiter", "RateLimits"]


@dataclass(frozen=True)
class RateLimits:
    """Limits per model, per `minute` seconds. None leaves that dimension unlimited (and unreported).

    Args:
        requests_per_minute: Requests admitted per minute.
        input_tokens_per_minute: Input tokens per minute (input plus cache writes; reads are free).
        output_tokens_per_minute: Output tokens per minute (`max_tokens` reserved, then settled).
        minute: How many real seconds a minute lasts (60 for the API's pace; less for fast tests).
        round_tokens: Round the token counts of the headers to the nearest thousand, as the API does.
    """

    requests_per_minute: int | None = None
    input_tokens_per_minute: int | None = None
    output_tokens_per_minute: int | None = None
    minute: float = 60.0
    round_tokens: bool = True

    def __post_init__(self) -> None:
        if self.minute <= 0:
            raise ValueError(f"RateLimits(minute={self.minute!r}): a minute must last more than 0 seconds")
        for name in ("requests_per_minute", "input_tokens_per_minute", "output_tokens_per_minute"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ValueError(f"RateLimits({name}={value!r}): give a positive limit, or None for no limit")


class _Bucket:
    __slots__ = ("level", "limit", "rate", "stamp")

    def __init__(self, limit: int, minute: float, now: float) -> None:
        self.limit, self.level, self.stamp = limit, float(limit), now
        self.rate = limit / minute  # per second

    def refill(self, now: float) -> None:
        self.level = min(float(self.limit), self.level + self.rate * (now - self.stamp))
        self.stamp = now

    def short(self, cost: float) -> float:
        """Seconds until `cost` fits (0 when it does now)."""
        need = min(cost, float(self.limit))
        return 0.0 if self.level >= need else (need - self.level) / self.rate

    def full_in(self) -> float:
        return max(0.0, (self.limit - self.level) / self.rate)


@dataclass
class Admission:
    """One admitted request: the model's buckets, and what it took from them."""

    model: str
    inputs: dict[str, Any]  # the input side of its usage, computed once at admission
    reserved_output: float
    headers: dict[str, str]
    produced: int = 0


class RateLimiter:
    """The buckets of every model, per `RateLimits` (one for all models, or by model-id prefix).

    `admitted` and `rejected` count requests let through and answered 429; `charged` sums what
    admitted requests took from each bucket (output as produced).
    """

    def __init__(
        self,
        limits: RateLimits | Mapping[str, RateLimits],
        *,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.limits = limits
        self.admitted = self.rejected = 0
        self.charged = {"requests": 0.0, "input-tokens": 0.0, "output-tokens": 0.0}
        self._clock, self._wall = clock, wall
        self._buckets: dict[str, dict[str, _Bucket]] = {}
        self._open: dict[int, Admission] = {}  # id(request) -> its admission, until rendered

    def limits_for(self, model: str) -> RateLimits | None:
        """The limits that apply to `model` (the longest matching prefix of a mapping)."""
        if isinstance(self.limits, RateLimits):
            return self.limits
        for prefix, limits in sorted(self.limits.items(), key=lambda item: -len(item[0])):
            if model.startswith(prefix):
                return limits
        return None

    def _model_buckets(self, model: str, now: float) -> dict[str, _Bucket]:
        found = self._buckets.get(model)
        if found is None:
            found = {}
            limits = self.limits_for(model)
            if limits is not None:
                for name, limit in (
                    ("requests", limits.requests_per_minute),
                    ("input-tokens", limits.input_tokens_per_minute),
                    ("output-tokens", limits.output_tokens_per_minute),
                ):
                    if limit is not None:
                        found[name] = _Bucket(limit, limits.minute, now)
            self._buckets[model] = found
        for bucket in found.values():
            bucket.refill(now)
        return found

    def admit(self, request: Request, inputs: Callable[[], dict[str, Any]]) -> Admission | float:
        """Admit `request` (an `Admission`), or say in how many seconds it would fit (answer 429).

        `inputs()` computes the input side of its usage (it records cache writes, so it is called
        only for a request that is admitted).
        """
        model, now = request.model, self._clock()
        buckets = self._model_buckets(model, now)
        max_tokens = float(request.body.get("max_tokens") or 0)
        costs = {"requests": 1.0, "output-tokens": max_tokens}
        wait = max((b.short(costs[name]) for name, b in buckets.items() if name in costs), default=0.0)
        if wait > 0:
            self.rejected += 1
            return wait
        usage = inputs()
        costs["input-tokens"] = float(usage["input_tokens"] + usage["cache_creation_input_tokens"])
        if "input-tokens" in buckets and (wait := buckets["input-tokens"].short(costs["input-tokens"])) > 0:
            # The prefix this request wrote to the cache stays written: a small liberty next to the API.
            self.rejected += 1
            return wait
        for name, bucket in buckets.items():
            bucket.level -= min(costs[name], float(bucket.limit))
        self.admitted += 1
        self.charged["requests"] += 1
        self.charged["input-tokens"] += costs["input-tokens"]
        admission = Admission(model, usage, min(max_tokens, self._limit(buckets, "output-tokens")), {})
        admission.headers = self.headers(model)
        self._open[id(request)] = admission
        return admission

    def rejection_headers(self, request: Request) -> dict[str, str]:
        """The headers of a 429 for `request`: the buckets as they stand."""
        return self.headers(request.model)

    def rendered(self, request: Request, produced: int) -> dict[str, Any] | None:
        """The input usage computed at `request`'s admission, noting the `produced` output tokens."""
        admission = self._open.get(id(request))
        if admission is None:
            return None
        admission.produced = produced
        self.charged["output-tokens"] += produced
        return admission.inputs

    def settle(self, request: Request) -> None:
        """The request is over: give back the output tokens it reserved but did not produce."""
        admission = self._open.pop(id(request), None)
        if admission is None:
            return
        bucket = self._model_buckets(admission.model, self._clock()).get("output-tokens")
        if bucket is not None:
            unused = max(0.0, admission.reserved_output - admission.produced)
            bucket.level = min(float(bucket.limit), bucket.level + unused)

    def headers(self, model: str) -> dict[str, str]:
        """`anthropic-ratelimit-*` for `model` as its buckets stand now."""
        now, wall = self._clock(), self._wall()
        buckets = self._model_buckets(model, now)
        limits = self.limits_for(model)
        rounding = limits is not None and limits.round_tokens
        out: dict[str, str] = {}
        for name, bucket in buckets.items():
            out.update(_bucket_headers(name, bucket, wall, rounding and name != "requests"))
        tokens = [buckets[n] for n in ("input-tokens", "output-tokens") if n in buckets]
        if tokens:
            tight = min(tokens, key=lambda b: b.level / b.limit)
            out.update(_bucket_headers("tokens", tight, wall, rounding))
        return out

    @staticmethod
    def _limit(buckets: dict[str, _Bucket], name: str) -> float:
        bucket = buckets.get(name)
        return math.inf if bucket is None else float(bucket.limit)


def _bucket_headers(name: str, bucket: _Bucket, wall: float, rounded: bool) -> dict[str, str]:
    remaining = max(0, math.floor(bucket.level))
    if rounded:
        remaining = round(remaining, -3)
    prefix = f"anthropic-ratelimit-{name}-"
    return {
        prefix + "limit": str(bucket.limit),
        prefix + "remaining": str(min(remaining, bucket.limit)),
        prefix + "reset": rfc3339(wall + bucket.full_in()),
    }


def rfc3339(moment: float) -> str:
    """A Unix time as RFC 3339 in UTC, to the millisecond: `2026-12-01T09:20:00.125Z`."""
    return datetime.fromtimestamp(moment, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
