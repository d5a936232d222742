"""The coordinator: the model requests of every run of a job, gathered into batches.

Each run of a job is a normal agent run whose `model_call` hook hands its request to
`Coordinator.request` and waits. When every live run waits (the others have finished), the
waiting requests go out as one batch (split only at the API's limits); the coordinator polls
the batches in flight with backoff and, as each ends, answers its requests: a `Message` goes
back to its run, a retryable failure (overloaded, 5xx, rate limit, expired, canceled) waits for
the next batch, up to `max_resubmits` times, and anything else fails that run alone.

A resumed job starts with the requests it had in flight (`attach`) and the results it had
received but not yet used (`replay`): a run that asks for the same request again (the same
key) gets that result, or waits on that batch, and nothing is submitted twice.
"""

from __future__ import annotations

import math
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import anyio

from ..errors import APIError, UsageLimitExceeded
from ..usage import Usage, UsageLimits
from ._cost import Spend
from ._requests import chunks, has_breakpoint, request_body, request_key, shared_prefix_only, usage_of
from ._store import JobStore

if TYPE_CHECKING:
    import anthropic
    from anthropic.types import Message

__all__ = ["Coordinator", "Polling"]

RETRYABLE = frozenset({"overloaded_error", "api_error", "rate_limit_error", "timeout_error", "expired", "canceled"})
_STATUS = {"invalid_request_error": 400, "rate_limit_error": 429, "api_error": 500, "overloaded_error": 529}


@dataclass(frozen=True)
class Polling:
    """How often the batches in flight are checked: `first` seconds after a submission, then
    `factor` times longer each time, never more than `cap`.

    Args:
        first: The first wait, in seconds.
        factor: How much each wait grows.
        cap: The longest wait, in seconds.
    """

    first: float = 2.0
    factor: float = 1.5
    cap: float = 120.0


@dataclass
class _Request:
    run: int
    key: str
    params: dict[str, Any] | None  # None for a request in flight from before a resume, not asked again yet
    betas: tuple[str, ...] = ()
    custom_id: str = ""
    attempts: int = 0
    size: int = 0  # bytes of JSON, about
    done: anyio.Event = field(default_factory=anyio.Event)
    outcome: Message | BaseException | None = None
    waiting: bool = False  # a run is blocked on it


@dataclass
class _Run:
    index: int
    seq: int = 0
    replay: dict[str, list[Message | BaseException]] = field(default_factory=dict)
    attached: dict[str, list[_Request]] = field(default_factory=dict)
    usage: Usage = field(default_factory=Usage)
    cache_write_1h: int = 0
    resumed: bool = False  # restarted from its saved history; its first request not asked yet


class Coordinator:
    """Gathers the requests of a job's runs into batches; see the module docstring.

    Args:
        client: The client the batches go through.
        store: Where the job is kept.
        job: The job id.
        runs: How many runs the job has (indexes 0..runs-1).
        polling: The backoff of the polls.
        max_resubmits: How often a request that failed in a retryable way is sent again.
        limits: Bounds on the whole job, checked before each batch.
        spend: Prices the job's usage (batch discount, cache writes by TTL).
        on_change: Called whenever the progress changes.
        warm: Before a batch, write the shared prompt prefix to the (1-hour) cache with one live
            `max_tokens: 0` request, so that the batch's requests, which run concurrently, read it.
        cache_history: Keep the breakpoints on each run's own history. Off by default: a run's
            history is written at the 1-hour price (2x) and read back a turn or two later at best,
            which costs more than sending it uncached; the shared system and tools prefix is kept.
    """

    def __init__(
        self,
        client: anthropic.AsyncAnthropic,
        store: JobStore,
        job: str,
        runs: int,
        *,
        polling: Polling,
        max_resubmits: int,
        limits: UsageLimits | None,
        spend: Spend,
        on_change: Callable[[], None],
        warm: bool = False,
        cache_history: bool = False,
    ) -> None:
        self.client, self.store, self.job = client, store, job
        self.polling, self.max_resubmits, self.limits, self.spend = polling, max_resubmits, limits, spend
        self.on_change = on_change
        self.runs = {i: _Run(i) for i in range(runs)}
        self.live = 0
        self.blocked = 0
        self.waiting: list[_Request] = []
        self.in_flight: dict[str, dict[str, _Request]] = {}  # batch id -> custom_id -> request
        self.submitted: list[str] = []  # batch ids this process created
        self.stopped: str | None = None  # why no more batches are submitted
        self.warm, self.cache_history = warm, cache_history
        self.warm_usage = Usage()  # the live cache-warming requests, billed at the live price
        self.warm_write_1h = 0
        self._warm_until = -math.inf
        self._changed = anyio.Event()

    # -- a resumed job -------------------------------------------------------------------------

    def restore(self) -> None:
        """Re-attach to the job's batches in flight and keep its unused results for replay."""
        for stored in self.store.requests(self.job):
            run = self.runs[stored.index]
            run.seq = max(run.seq, stored.seq + 1)
            if stored.result is not None:
                outcome = self._outcome_of(stored.custom_id, stored.result)
                if outcome is not None:
                    run.replay.setdefault(stored.key, []).append(outcome)
                continue
            request = _Request(stored.index, stored.key, None, custom_id=stored.custom_id)
            self.in_flight.setdefault(stored.batch, {})[stored.custom_id] = request
            run.attached.setdefault(stored.key, []).append(request)
            run.resumed = True
        for index, totals in self._storedusage_of().items():
            self.runs[index].cache_write_1h = totals.pop("cache_write_1h", 0)
            self.runs[index].usage = Usage(**totals)

    async def adopt(self) -> None:
        """Find the batches a stopped process was creating when it stopped: the API's newest batch with
        as many requests, created since, is taken for it (its results are matched by custom_id, so a
        wrong guess only sends those requests again); none found, they are sent again."""
        intents = self.store.intents(self.job)
        if not intents:
            return
        known = set(self.store.batches(self.job))
        page = await self.client.messages.batches.list(limit=100)
        for intent, since, count in intents:
            found = next(
                (
                    b.id
                    for b in page.data
                    if b.id not in known
                    and b.created_at.timestamp() >= since - 300
                    and sum(b.request_counts.model_dump().values()) == count
                ),
                None,
            )
            self.store.submitted(self.job, intent, found)
            requests = list(self.in_flight.pop(intent, {}).values())
            if found is None:
                for request in requests:
                    self._detach(request)
            else:
                known.add(found)
                self.in_flight[found] = {r.custom_id: r for r in requests}

    def _storedusage_of(self) -> dict[int, dict[str, int]]:
        return {r.index: dict(r.usage) for r in self.store.runs(self.job) if r.usage}

    # -- the runs' side ------------------------------------------------------------------------

    def started(self) -> None:
        self.live += 1

    def finished(self) -> None:
        self.live -= 1
        self._change()

    async def request(self, index: int, params: dict[str, Any]) -> Message:
        """The answer to one model request of run `index`: from a replayed result, a batch in flight, or a new batch."""
        body, betas = request_body(params)
        if not self.cache_history:
            body = shared_prefix_only(body)
        key, size = request_key(body)
        run = self.runs[index]
        if run.replay.get(key):
            return self._deliver(run.replay[key].pop(0))
        request = self._attached(run, key)
        if request is not None:
            request.params, request.betas = body, betas
        else:
            request = _Request(index, key, body, betas)
            self.waiting.append(request)
        request.size = size
        request.waiting = True
        self.blocked += 1
        self._change()
        try:
            await request.done.wait()
        finally:
            if request.waiting:  # cancelled while waiting
                request.waiting = False
                self.blocked -= 1
        assert request.outcome is not None
        return self._deliver(request.outcome)

    def _attached(self, run: _Run, key: str) -> _Request | None:
        """The in-flight request this one is the same as; else, for a resumed run's first request, the
        only one it had in flight (a restart may trim or place breakpoints differently)."""
        first, run.resumed = run.resumed, False
        if run.attached.get(key):
            return run.attached[key].pop(0)
        pending = [r for requests in run.attached.values() for r in requests]
        if first and len(pending) == 1:
            run.attached.clear()
            pending[0].key = key
            return pending[0]
        return None

    @staticmethod
    def _deliver(outcome: Message | BaseException) -> Message:
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    def _resolve(self, request: _Request, outcome: Message | BaseException) -> None:
        request.outcome = outcome
        self._detach(request)
        if request.waiting:
            request.waiting = False
            self.blocked -= 1
            request.done.set()
        elif not (isinstance(outcome, BaseException) and _retryable(outcome)):
            self.runs[request.run].replay.setdefault(request.key, []).append(outcome)

    def _detach(self, request: _Request) -> None:
        """A request from before a resume is answered: no later request may attach to it."""
        attached = self.runs[request.run].attached.get(request.key)
        if attached and request in attached:
            attached.remove(request)

    def _change(self) -> None:
        self._changed.set()
        self.on_change()

    # -- the coordinator's loop ----------------------------------------------------------------

    async def drive(self) -> None:
        """Submit, poll and answer until every run has finished."""
        wait = self.polling.first
        await self.adopt()
        next_poll = time.monotonic()  # batches re-attached to on a resume are checked at once
        while self.live > 0:
            if self.waiting and self.blocked >= self.live:
                await self._submit()
                wait = self.polling.first
                next_poll = time.monotonic() + wait
            if self.in_flight and time.monotonic() >= next_poll:
                ended = await self._poll()
                wait = self.polling.first if ended else min(wait * self.polling.factor, self.polling.cap)
                next_poll = time.monotonic() + wait
                if ended:
                    continue
            timeout = max(0.0, next_poll - time.monotonic()) if self.in_flight else math.inf
            self._changed = anyio.Event()
            if self.live == 0:
                break
            with anyio.move_on_after(timeout):
                await self._changed.wait()

    async def _submit(self) -> None:
        requests, self.waiting = self.waiting, []
        refusal = self._over_limits(requests)
        if refusal is not None:
            self.stopped = refusal
            for request in requests:
                self._resolve(request, UsageLimitExceeded(f"Batch job limit reached before the next batch: {refusal}"))
            return
        await self._warm_cache(requests[0])
        for chunk in chunks(requests):
            await self._create(chunk)

    async def _warm_cache(self, request: _Request) -> None:
        """One live `max_tokens: 0` request (cache pre-warming, which a batch does not take), at most
        once per 55 minutes: it writes the system and tools prefix every request of the batch shares."""
        if not self.warm or request.params is None or request.betas or time.monotonic() < self._warm_until:
            return
        if request.params.get("thinking") or not has_breakpoint(request.params):
            return
        from anthropic.types import Message

        self._warm_until = time.monotonic() + 55 * 60
        try:
            message = await self.client.post("/v1/messages", cast_to=Message, body={**request.params, "max_tokens": 0})
        except Exception:  # only an optimisation: the batch goes out anyway
            return
        raw: dict[str, Any] = message.usage.to_dict(mode="json")
        self.warm_usage.add(usage_of(raw))
        self.warm_write_1h += int((raw.get("cache_creation") or {}).get("ephemeral_1h_input_tokens") or 0)

    async def _create(self, requests: list[_Request]) -> None:
        for request in requests:
            run = self.runs[request.run]
            request.custom_id = f"r{request.run}_{run.seq}"
            run.seq += 1
        betas = requests[0].betas
        payload = [{"custom_id": r.custom_id, "params": r.params} for r in requests]
        api: Any = self.client.beta.messages.batches if betas else self.client.messages.batches
        extra = {"betas": list(betas)} if betas else {}
        intent = "pending_" + secrets.token_hex(8)
        self.store.submitting(
            self.job, intent, [(r.custom_id, r.run, int(r.custom_id.rsplit("_", 1)[1]), r.key) for r in requests]
        )
        try:
            batch = await api.create(requests=payload, **extra)
        except BaseException as exc:
            if not isinstance(exc, Exception):  # cancelled while creating: it may exist; resume looks for it
                raise
            self.store.submitted(self.job, intent, None)  # the SDK retried it already; these runs fail

            error = APIError(
                f"Creating a message batch of {len(requests)} requests failed: {exc}",
                status_code=getattr(exc, "status_code", None),
                request_id=getattr(exc, "request_id", None),
                error_type=getattr(exc, "type", None) or type(exc).__name__,
            )
            for request in requests:
                self._resolve(request, error)
            self._change()
            return
        # Persisted before anything else can happen: a killed process re-attaches to this batch.
        self.store.submitted(self.job, intent, batch.id)
        self.submitted.append(batch.id)
        self.in_flight[batch.id] = {r.custom_id: r for r in requests}
        self._change()

    def _over_limits(self, requests: list[_Request]) -> str | None:
        """Why the next batch must not go out, or None: the job's usage plus the batch's prompts."""
        prompt = sum(r.size // 4 for r in requests)
        used = self.usage()
        if self.limits is not None:
            bounds = UsageLimits(**{**_fields(self.limits), "cost_usd": None})
            why = bounds.check(used, next_prompt_tokens=prompt, model="")
            if why is None and bounds.requests is not None and used.requests + len(requests) > bounds.requests:
                why = f"requests: {used.requests} used, the next batch has {len(requests)}, limit {bounds.requests}"
            if why is not None:
                return why
        cap = self.spend.max_cost
        if cap is not None:
            cost = self.spend.cost(used, self.cache_write_1h()) + self.spend.prompt_cost(prompt)
            if cost > cap:
                return f"max_cost: about ${cost:.4f} with the next batch, over the cap of ${cap}"
        return None

    async def _poll(self) -> bool:
        """Check every batch in flight; answer the requests of those that ended. True if any did."""
        ended = False
        import anthropic

        for batch_id in list(self.in_flight):
            try:
                batch = await self.client.messages.batches.retrieve(batch_id)
            except anthropic.NotFoundError:  # deleted elsewhere: its requests are lost, send them again
                await self._collect(batch_id, lost=True)
                ended = True
                continue
            except (anthropic.APIConnectionError, anthropic.InternalServerError):
                continue  # the SDK retried already; the next poll tries again
            if batch.processing_status != "ended":
                continue
            await self._collect(batch_id)
            ended = True
        return ended

    async def _collect(self, batch_id: str, *, lost: bool = False) -> None:
        requests = self.in_flight[batch_id]
        results: dict[str, dict[str, Any]] = {}
        if not lost:
            async for line in await self.client.messages.batches.results(batch_id):
                results[line.custom_id] = line.result.to_dict(mode="json")
        touched: dict[int, dict[str, int]] = {}
        for custom_id, result in results.items():
            request = requests.get(custom_id)
            if request is None:
                continue
            if result["type"] == "succeeded":
                run = self.runs[request.run]
                usage = result["message"].get("usage") or {}
                run.usage.add(usage_of(usage))
                run.cache_write_1h += int((usage.get("cache_creation") or {}).get("ephemeral_1h_input_tokens") or 0)
                touched[request.run] = {**_fields(run.usage), "cache_write_1h": run.cache_write_1h}
        # Persisted before any run goes on: a killed process replays these instead of resubmitting.
        self.store.received(self.job, batch_id, results, touched)
        del self.in_flight[batch_id]
        for custom_id, request in requests.items():
            result = results.get(custom_id, {"type": "expired"})
            outcome = self._outcome_of(custom_id, result)
            if outcome is None or (_retryable(outcome) and request.attempts < self.max_resubmits):
                if request.params is not None:  # asked again since the resume: send it again
                    request.attempts += 1
                    self.waiting.append(request)
                else:
                    self._detach(request)  # the run will send it afresh when it gets there
                continue
            self._resolve(request, outcome)
        self._change()

    def _outcome_of(self, custom_id: str, result: dict[str, Any]) -> Message | BaseException | None:
        kind = result.get("type")
        if kind == "succeeded":
            from anthropic.types import Message

            return Message.model_validate(result["message"])
        if kind in ("expired", "canceled"):
            return APIError(f"Message batch request {custom_id} {kind} before it was processed", error_type=str(kind))
        envelope = result.get("error") or {}
        error = envelope.get("error") or {}
        error_type = str(error.get("type") or "api_error")
        return APIError(
            f"Message batch request {custom_id} failed ({error_type}): {error.get('message', '')}",
            status_code=_STATUS.get(error_type),
            request_id=envelope.get("request_id"),
            error_type=error_type,
        )

    # -- totals --------------------------------------------------------------------------------

    def usage(self) -> Usage:
        total = self.warm_usage + Usage()
        for run in self.runs.values():
            total.add(run.usage)
        return total

    def cache_write_1h(self) -> int:
        return sum(run.cache_write_1h for run in self.runs.values())

    def requests_in_flight(self) -> int:
        return sum(len(requests) for requests in self.in_flight.values())


def _retryable(outcome: Message | BaseException) -> bool:
    return isinstance(outcome, APIError) and outcome.error_type in RETRYABLE


def _fields(value: Any) -> dict[str, Any]:
    import dataclasses

    return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
