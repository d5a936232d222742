"""`RunPacing`: what one run uses, each request's attempts, the time waited, retries after a 429."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any
from weakref import WeakKeyDictionary

from .headers import parse_headers
from .pacer import Pacer, Slot, pacer_for

if TYPE_CHECKING:
    from opentelemetry.metrics import Histogram, MeterProvider
    from opentelemetry.trace import Span

_MAX_RATE_LIMITED = 8  # 429s retried per request (through the pacer), unless max_retries is 0
_RETRY_DELAY, _MAX_RETRY_DELAY = 0.5, 8.0  # the SDK's own backoff, for what it would have retried

no_retry_clients: WeakKeyDictionary[Any, Any] = WeakKeyDictionary()  # client -> its copy without retries
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
        if pacer is None or pacer.paces is False:  # off, or a server that sends no rate-limit headers
            yield Slot(pacer, None, 0.0, self.client)
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
    found = no_retry_clients.get(client)
    if found is None:
        found = no_retry_clients[client] = client.with_options(max_retries=0)
    return found


def _histogram(provider: MeterProvider | None) -> Histogram:
    key = _GLOBAL if provider is None else provider
    found = _histograms.get(key)
    if found is None:
        from opentelemetry import metrics

        from .. import __version__

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
