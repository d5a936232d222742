"""The Message Batches endpoints of the loopback server: `/v1/messages/batches` and its results.

`MessagesServer.batches` serves create, retrieve, list, cancel, delete and `/results` (JSON Lines)
like the real API, so a batch runner is tested through the real SDK:

- create checks the batch itself (1 to 100,000 requests, at most 256 MB, each `custom_id`
  matching `^[a-zA-Z0-9_-]{1,64}$` and unique) and answers 400 for the whole batch otherwise;
- each request is then checked like a `/v1/messages` request (`validate`, plus what a batch does
  not take: `stream`, `max_tokens: 0`); one the validator rejects becomes an `errored` result
  with an `invalid_request_error`, as the real API does, and is recorded in `server.rejected`;
- the others are answered from the server's script, in order, like live calls: a `Reply` is a
  `succeeded` result (usage with `service_tier: "batch"`); `Fault.overloaded()`, `rate_limit()`,
  `server_error()` give an `errored` result of that type; `Fault.expired()` and
  `Fault.canceled()` give those results; a handler sees each request with path
  `/v1/messages/batches`;
- a batch stays `in_progress` for `processing_delay` seconds of real time (`math.inf`: until
  `release()`), then ends at once; cancel ends it, its unprocessed requests `canceled`;
- `simulated_duration` is how long each batch takes as the prompt cache sees it: the cache's
  clock moves on by that much before the batch is processed, so a 5-minute cache entry written
  by one turn's batch has expired when the next turn's batch runs, and a 1-hour one has not;
- the requests of one batch run concurrently, as the service runs them: each reads only what
  was cached before the batch started, not what another request of the same batch wrote
  (`cache_within_batch = True` processes them one after another instead).

`submissions` lists the batch ids created, `submitted` every `custom_id` sent, in order: what a
resume test counts to show that nothing was submitted twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import re
import secrets
import time
import traceback
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from agentkit.testing._script import Fault, Reply, Request
from agentkit.testing._validate import validate

if TYPE_CHECKING:
    from agentkit.testing._server import MessagesServer

__all__ = ["MAX_BATCH_BYTES", "MAX_BATCH_REQUESTS", "MessageBatches"]

MAX_BATCH_REQUESTS = 100_000
MAX_BATCH_BYTES = 256 * 1024 * 1024
PATH = "/v1/messages/batches"
_CUSTOM_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_EXPIRY = 24 * 3600.0
Status = Literal["in_progress", "canceling", "ended"]


class _Answer(Exception):
    """An HTTP error for the whole call (not one request of a batch)."""

    def __init__(self, status: int, error_type: str, message: str) -> None:
        super().__init__(message)
        self.status, self.error_type = status, error_type


@dataclass
class _Batch:
    id: str
    requests: list[tuple[str, dict[str, Any]]]
    headers: dict[str, str]
    beta: bool
    created_at: float = field(default_factory=time.time)
    status: Status = "in_progress"
    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    ended_at: float | None = None
    cancel_initiated_at: float | None = None
    wake: asyncio.Event = field(default_factory=asyncio.Event)


class MessageBatches:
    """The batches of one `MessagesServer` (its `batches` attribute); see the module docstring.

    Args:
        server: The server whose script, validation settings and prompt cache the batches use.
    """

    def __init__(self, server: MessagesServer) -> None:
        self.server = server
        self.processing_delay = 0.0
        self.simulated_duration = 0.0
        self.cache_within_batch = False
        self.processing_seconds = 0.0  # time spent answering batch requests (to tell a runner's own time)
        self.submissions: list[str] = []
        self.submitted: list[str] = []
        self.requests: list[Request] = []
        self._batches: dict[str, _Batch] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._skew = 0.0
        cache_clock = server.cache._clock
        server.cache._clock = lambda: cache_clock() + self._skew

    def release(self) -> None:
        """End the wait of every batch in progress now: they are processed at once."""
        loop = self.server._loop
        if loop is not None:
            for batch in self._batches.values():
                loop.call_soon_threadsafe(batch.wake.set)

    def status(self, batch_id: str) -> Status:
        """The processing status of a batch created on this server."""
        return self._batches[batch_id].status

    # -- HTTP ----------------------------------------------------------------------------------

    async def route(self, conn: Any, method: str, path: str, query: str, headers: dict[str, str], raw: bytes) -> bool:
        """Answer one request under `/v1/messages/batches`; False when the connection must close."""
        if not (headers.get("x-api-key") or headers.get("authorization")):
            return bool(await conn.send_error(401, "authentication_error", "x-api-key header is required"))
        parts = path.removeprefix(PATH).strip("/").split("/") if path != PATH else []
        beta = bool(headers.get("anthropic-beta")) or "beta=true" in query.split("&")
        try:
            if not parts and method == "POST":
                return bool(await conn.send_json(200, self._create(raw, headers, beta)))
            if not parts and method == "GET":
                return bool(await conn.send_json(200, self._list(query)))
            batch = self._find(parts[0]) if parts else None
            if batch is not None and len(parts) == 1 and method == "GET":
                return bool(await conn.send_json(200, self._view(batch)))
            if batch is not None and len(parts) == 1 and method == "DELETE":
                return bool(await conn.send_json(200, self._delete(batch)))
            if batch is not None and parts[1:] == ["cancel"] and method == "POST":
                return bool(await conn.send_json(200, self._cancel(batch)))
            if batch is not None and parts[1:] == ["results"] and method == "GET":
                return await self._send_results(conn, batch)
        except _Answer as err:
            return bool(await conn.send_error(err.status, err.error_type, str(err)))
        return bool(await conn.send_error(404, "not_found_error", f"Not found: {method} {path}"))

    def _find(self, batch_id: str) -> _Batch:
        batch = self._batches.get(batch_id)
        if batch is None:
            raise _Answer(404, "not_found_error", f"No message batch with id {batch_id!r}")
        return batch

    def _create(self, raw: bytes, headers: dict[str, str], beta: bool) -> dict[str, Any]:
        if len(raw) > MAX_BATCH_BYTES:
            raise _Answer(413, "request_too_large", f"Request exceeds the maximum size of {MAX_BATCH_BYTES} bytes")
        try:
            body = json.loads(raw or b"{}")
        except ValueError as err:
            raise _Answer(400, "invalid_request_error", f"There was an error parsing the body: {err}") from None
        requests = body.get("requests") if isinstance(body, dict) else None
        if not isinstance(requests, list) or not 1 <= len(requests) <= MAX_BATCH_REQUESTS:
            raise _Answer(400, "invalid_request_error", f"requests: a list of 1 to {MAX_BATCH_REQUESTS} requests")
        extra = sorted(set(body) - {"requests"})
        if extra:
            raise _Answer(400, "invalid_request_error", f"{extra[0]}: Extra inputs are not permitted")
        seen: set[str] = set()
        entries: list[tuple[str, dict[str, Any]]] = []
        for i, item in enumerate(requests):
            custom_id = item.get("custom_id") if isinstance(item, dict) else None
            if not isinstance(custom_id, str) or not _CUSTOM_ID.match(custom_id):
                pattern = f"requests.{i}.custom_id: String should match pattern '{_CUSTOM_ID.pattern}'"
                raise _Answer(400, "invalid_request_error", pattern)
            if custom_id in seen:
                duplicate = f"requests.{i}.custom_id: {custom_id!r} is not unique in the batch"
                raise _Answer(400, "invalid_request_error", duplicate)
            if not isinstance(item.get("params"), dict):
                raise _Answer(400, "invalid_request_error", f"requests.{i}.params: Field required")
            seen.add(custom_id)
            entries.append((custom_id, item["params"]))
        batch = _Batch("msgbatch_" + secrets.token_hex(12), entries, dict(headers), beta)
        self._batches[batch.id] = batch
        self.submissions.append(batch.id)
        self.submitted.extend(custom_id for custom_id, _ in entries)
        task = asyncio.get_running_loop().create_task(self._process(batch))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return self._view(batch)

    def _list(self, query: str) -> dict[str, Any]:
        options = dict(part.partition("=")[::2] for part in query.split("&") if part)
        newest_first = list(reversed(self._batches.values()))
        ids = [b.id for b in newest_first]
        if options.get("after_id") in ids:
            newest_first = newest_first[ids.index(options["after_id"]) + 1 :]
        elif options.get("before_id") in ids:
            newest_first = newest_first[: ids.index(options["before_id"])]
        limit = max(1, min(1000, int(options.get("limit") or 20)))
        page = newest_first[:limit]
        return {
            "data": [self._view(b) for b in page],
            "has_more": len(newest_first) > limit,
            "first_id": page[0].id if page else None,
            "last_id": page[-1].id if page else None,
        }

    def _cancel(self, batch: _Batch) -> dict[str, Any]:
        if batch.status == "in_progress":
            batch.status = "canceling"
            batch.cancel_initiated_at = time.time()
            batch.wake.set()
        return self._view(batch)

    def _delete(self, batch: _Batch) -> dict[str, Any]:
        if batch.status != "ended":
            raise _Answer(400, "invalid_request_error", f"Batch {batch.id} is still processing; cancel it first")
        del self._batches[batch.id]
        return {"id": batch.id, "type": "message_batch_deleted"}

    def _view(self, batch: _Batch) -> dict[str, Any]:
        counts = dict.fromkeys(("processing", "succeeded", "errored", "canceled", "expired"), 0)
        if batch.status == "ended":
            for result in batch.results.values():
                counts[result["type"]] += 1
        else:
            counts["processing"] = len(batch.requests)
        ended = batch.status == "ended"
        url = f"{self.server.url}{PATH}/{batch.id}/results"
        return {
            "id": batch.id,
            "type": "message_batch",
            "processing_status": batch.status,
            "request_counts": counts,
            "created_at": _rfc3339(batch.created_at),
            "expires_at": _rfc3339(batch.created_at + _EXPIRY),
            "ended_at": _rfc3339(batch.ended_at),
            "cancel_initiated_at": _rfc3339(batch.cancel_initiated_at),
            "archived_at": None,
            "results_url": url if ended else None,
        }

    async def _send_results(self, conn: Any, batch: _Batch) -> bool:
        if batch.status != "ended":
            raise _Answer(400, "invalid_request_error", f"Batch {batch.id} has not finished processing yet")
        # Not in request order, as the API warns: match results by custom_id.
        lines = [{"custom_id": cid, "result": batch.results[cid]} for cid, _ in reversed(batch.requests)]
        data = "".join(json.dumps(line, separators=(",", ":")) + "\n" for line in lines).encode()
        head = "\r\n".join(
            [
                "HTTP/1.1 200 OK",
                "content-type: application/binary",
                f"content-length: {len(data)}",
                f"request-id: req_{secrets.token_hex(12)}",
            ]
        )
        conn.writer.write(head.encode("latin-1") + b"\r\n\r\n" + data)
        await conn.writer.drain()
        return True

    # -- processing ----------------------------------------------------------------------------

    async def _process(self, batch: _Batch) -> None:
        delay = None if math.isinf(self.processing_delay) else self.processing_delay
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(batch.wake.wait(), delay)
        self._skew += self.simulated_duration
        started = time.perf_counter()
        cache = self.server.cache
        before = dict(cache._entries)
        merged = dict(before)
        for custom_id, params in batch.requests:
            if batch.status == "canceling":
                batch.results[custom_id] = {"type": "canceled"}
                continue
            if not self.cache_within_batch:
                cache._entries = dict(before)
            batch.results[custom_id] = await self._answer(batch, params)
            if not self.cache_within_batch:
                merged.update({k: v for k, v in cache._entries.items() if before.get(k) != v})
        if not self.cache_within_batch:
            cache._entries = merged
        self.processing_seconds += time.perf_counter() - started
        batch.status, batch.ended_at = "ended", time.time()

    async def _answer(self, batch: _Batch, params: dict[str, Any]) -> dict[str, Any]:
        server = self.server
        request = Request(params, batch.headers, PATH)
        self.requests.append(request)
        problem = _batch_problem(params) or validate(
            params,
            prefill=server.prefill,
            beta=batch.beta,
            max_output_tokens=server.max_output_tokens,
            context_window=server.context_window,
        )
        if problem:
            server.rejected.append((request, problem))
            return _errored("invalid_request_error", problem)
        try:
            item = await self._next(request)
        except Exception as err:  # a handler bug: surface it rather than have it resubmitted quietly
            server.errors.append(err)
            detail = "".join(traceback.format_exception_only(err)).strip()
            return _errored("api_error", f"agentkit.testing: the handler raised {detail}")
        if item is None:
            return _errored("api_error", "agentkit.testing: the script ran out for a batch request")
        if isinstance(item, Reply):
            message = server._render(request, item)
            message["usage"]["service_tier"] = "batch"
            return {"type": "succeeded", "message": message}
        if item.kind in ("expired", "canceled"):
            return {"type": item.kind}
        return _errored(item.error_type, item.message)

    async def _next(self, request: Request) -> Reply | Fault | None:
        server = self.server
        while True:
            item = await server.scripted(request)
            if not (isinstance(item, Fault) and item.kind == "hang"):
                return item
            await asyncio.sleep(item.seconds)


def _batch_problem(params: dict[str, Any]) -> str | None:
    """What a batch request may not carry, that `/v1/messages` takes."""
    if "stream" in params:
        return "stream: streaming is not supported in a message batch request"
    if params.get("max_tokens") == 0:
        return "max_tokens: must be at least 1 in a message batch request (cache pre-warming is not supported)"
    return None


def _errored(error_type: str, message: str) -> dict[str, Any]:
    error = {"type": error_type, "message": message}
    return {"type": "errored", "error": {"type": "error", "error": error, "request_id": f"req_{secrets.token_hex(12)}"}}


def _rfc3339(t: float | None) -> str | None:
    if t is None:
        return None
    return datetime.fromtimestamp(t, UTC).isoformat().replace("+00:00", "Z")
