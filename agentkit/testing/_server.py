"""`MessagesServer`: a real HTTP/1.1 Messages API on 127.0.0.1, answering from a script.

The server runs its own asyncio loop in a daemon thread, so it serves sync code, anyio tests and
demo scripts alike, and many slow concurrent requests cost tasks, not threads. The SDK talks to it
over a real socket: retries, timeouts, keep-alive and SSE parsing are the SDK's own, untouched.
"""

from __future__ import annotations

import asyncio
import contextlib
import http
import inspect
import json
import math
import secrets
import socket
import struct
import threading
import time
import traceback
from collections import deque
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Literal

from agentkit.testing._batches import PATH as _BATCHES
from agentkit.testing._batches import MessageBatches
from agentkit.testing._ratelimit import RateLimiter, RateLimits
from agentkit.testing._script import Fault, Handler, Reply, Request, model_info, render_message, stream_events
from agentkit.testing._tokens import PromptCache, estimate_tokens, output_tokens
from agentkit.testing._validate import validate

if TYPE_CHECKING:
    import anthropic

__all__ = ["TEST_API_KEY", "MessagesServer"]

TEST_API_KEY = "sk-ant-test-not-a-real-key"
_DEFAULT_MODEL = "claude-sonnet-5"
_RAN_OUT = (
    "agentkit.testing: the script ran out: request #{n} to /v1/messages arrived with no Reply or Fault "
    "queued and no handler set. Queue more with server.script(...) or set server.respond_with(handler)."
)
_ENDPOINTS: dict[str, Literal["messages", "count_tokens"]] = {
    "/v1/messages": "messages",
    "/v1/messages/count_tokens": "count_tokens",
}


class _Gone(Exception):
    """The client hung up while its request waited; nothing is left to answer."""


class MessagesServer:
    """An offline Messages API: `/v1/messages` (JSON or SSE), `count_tokens` and `models`.

    Each `/v1/messages` request is validated like the real API (a 400 otherwise, recorded in
    `rejected`), then answered by the next scripted `Reply`/`Fault`, else by the handler. Its usage
    accounts prompt caching like the service (`cache`, see `agentkit.testing._tokens`);
    `min_cacheable_tokens` overrides the per-model minimum cacheable prompt length (an int for
    every model, or a mapping of model-id prefixes to minimums). `prefill`: None refuses a final
    assistant message on the models that refuse it (`agentkit._models`), True accepts it on
    every model, False refuses it on every model. Model ids may be first-party, Bedrock or Vertex AI
    ids (`anthropic.claude-opus-4-7-v1:0`, `claude-opus-4-7@20251001`); every table sees the same.
    `rate_limits` enforces per-model limits with the API's headers and 429s
    (`agentkit.testing._ratelimit`); `rate_limiter` holds them.
    """

    def __init__(
        self,
        script: Handler | Iterable[Reply | Fault] | None = None,
        *,
        latency: float = 0.0,
        prefill: bool | None = None,
        min_cacheable_tokens: int | Mapping[str, int] | None = None,
        max_output_tokens: int = 64_000,
        context_window: int = 200_000,
        rate_limits: RateLimits | Mapping[str, RateLimits] | None = None,
    ) -> None:
        self.url = ""
        self.requests: list[Request] = []
        self.count_requests: list[Request] = []
        self.rejected: list[tuple[Request, str]] = []
        self.errors: list[BaseException] = []  # exceptions raised by a handler
        self.latency = latency
        self.prefill = prefill
        self.max_output_tokens = max_output_tokens
        self.context_window = context_window
        self.cache = PromptCache(min_cacheable_tokens)
        self.rate_limiter = RateLimiter(rate_limits) if rate_limits is not None else None
        self._queue: deque[Reply | Fault] = deque()
        self._handler: Handler | None = None
        if callable(script):
            self._handler = script
        elif script is not None:
            self._queue.extend(script)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()  # one per open connection
        self.batches = MessageBatches(self)  # /v1/messages/batches (agentkit.testing._batches)

    # -- scripting ---------------------------------------------------------------------------

    def script(self, *items: Reply | Fault) -> None:
        """Queue replies and faults; each answers one request, in order, before the handler."""
        self._queue.extend(items)

    def respond_with(self, handler: Handler) -> None:
        """Answer with `handler(request)` (sync or async) whenever the queue is empty."""
        self._handler = handler

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self, *, port: int = 0) -> MessagesServer:
        """Bind `port` on 127.0.0.1 (0: an ephemeral one) and serve from a background thread."""
        if self._thread is not None:
            return self
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=self._run_loop, args=(loop,), name="agentkit-messages-server", daemon=True)
        thread.start()
        self._loop, self._thread = loop, thread

        async def listen() -> asyncio.Server:
            return await asyncio.start_server(self._serve_connection, "127.0.0.1", port, limit=1 << 20)

        try:
            self._server = asyncio.run_coroutine_threadsafe(listen(), loop).result()
        except OSError:  # the port is taken: leave no loop thread behind
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=10)
            self._loop = self._thread = None
            raise
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    def stop(self) -> None:
        """Close every connection, stop the loop and join its thread (idempotent)."""
        loop, thread, server = self._loop, self._thread, self._server
        if loop is None or thread is None or server is None:
            return

        async def shutdown() -> None:
            server.close()
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            await server.wait_closed()

        asyncio.run_coroutine_threadsafe(shutdown(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        self._loop = self._thread = self._server = None

    @staticmethod
    def _run_loop(loop: asyncio.AbstractEventLoop) -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_forever()
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            loop.close()

    def __enter__(self) -> MessagesServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    async def __aenter__(self) -> MessagesServer:
        return self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        self.stop()

    # -- clients -----------------------------------------------------------------------------

    def _client_options(self, kwargs: dict[str, Any], keep_alive: bool, client_class: str) -> dict[str, Any]:
        import anthropic  # lazily: importing the SDK takes over a second
        import httpx2

        if not self.url:
            raise RuntimeError("MessagesServer is not started: call start() or use it as a context manager")
        options = {"base_url": self.url, "api_key": TEST_API_KEY, "max_retries": 2, **kwargs}
        if not keep_alive and "http_client" not in options:
            # No pooled connection: nothing tied to an event loop, nothing left open for the GC. And
            # plain HTTP to 127.0.0.1 needs no CA certificates (loading them costs 20-40 ms a client).
            limits = httpx2.Limits(max_connections=1000, max_keepalive_connections=0)
            options["http_client"] = getattr(anthropic, client_class)(limits=limits, verify=False)
        return options

    def client(self, *, keep_alive: bool = False, **kwargs: Any) -> anthropic.AsyncAnthropic:
        """An `AsyncAnthropic` for this server (test key, `max_retries=2`; kwargs override).

        By default it opens a connection per request and pools none, so it works from any event
        loop (several `asyncio.run` calls, anyio tests) and needs no closing. `keep_alive=True`
        gives the SDK's own pooled client instead: close it (`async with`) in the loop that used it.
        """
        import anthropic

        return anthropic.AsyncAnthropic(**self._client_options(kwargs, keep_alive, "DefaultAsyncHttpxClient"))

    def sync_client(self, *, keep_alive: bool = False, **kwargs: Any) -> anthropic.Anthropic:
        """An `Anthropic` (sync) client for this server, without a connection pool unless asked."""
        import anthropic

        return anthropic.Anthropic(**self._client_options(kwargs, keep_alive, "DefaultHttpxClient"))

    # -- HTTP --------------------------------------------------------------------------------

    async def _serve_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        conn = _Connection(reader, writer)
        try:
            while True:
                method, target, headers, raw = await conn.read_request()
                keep = await self._route(conn, method, target, headers, raw)
                if not keep or headers.get("connection") == "close":
                    break
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, ValueError, _Gone):
            pass
        except asyncio.CancelledError:  # stop(): end quietly, as asyncio logs a cancelled handler task
            pass
        finally:
            self._tasks.discard(task)
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()

    async def _route(self, conn: _Connection, method: str, target: str, headers: dict[str, str], raw: bytes) -> bool:
        """Answer one request; False when the connection must not be reused."""
        path, _, query = target.partition("?")
        if path == _BATCHES or path.startswith(_BATCHES + "/"):  # the Message Batches API: _batches.py
            return await self.batches.route(conn, method, path, query, headers, raw)
        endpoint = _ENDPOINTS.get(path)
        if method == "POST" and endpoint is not None:
            body, problem = _parse_body(raw)
            # Beta-only fields come with an `anthropic-beta` header (older SDKs also sent `?beta=true`).
            beta = bool(headers.get("anthropic-beta")) or "beta=true" in query.split("&")
            return await self._post(conn, endpoint, Request(body, headers, path), problem, beta)
        if method != "GET" or not path.startswith("/v1/models"):
            return await conn.send_error(404, "not_found_error", f"Not found: {method} {path}")
        if not _authenticated(headers):
            return await conn.send_error(401, "authentication_error", "x-api-key header is required")
        model_id = path.removeprefix("/v1/models").strip("/")
        info = model_info(model_id or _DEFAULT_MODEL, self.context_window, self.max_output_tokens)
        page = {"data": [info], "has_more": False, "first_id": info["id"], "last_id": info["id"]}
        return await conn.send_json(200, info if model_id else page)

    async def _post(
        self,
        conn: _Connection,
        endpoint: Literal["messages", "count_tokens"],
        request: Request,
        problem: str | None,
        beta: bool,
    ) -> bool:
        (self.requests if endpoint == "messages" else self.count_requests).append(request)
        if not _authenticated(request.headers):
            return await conn.send_error(401, "authentication_error", "x-api-key header is required")
        if endpoint == "messages" and self.latency:
            await asyncio.sleep(self.latency)
        problem = problem or validate(
            request.body,
            prefill=self.prefill,
            endpoint=endpoint,
            beta=beta,
            max_output_tokens=self.max_output_tokens,
            context_window=self.context_window,
        )
        if problem:
            self.rejected.append((request, problem))
            return await conn.send_error(400, "invalid_request_error", problem)
        if endpoint == "count_tokens":
            return await conn.send_json(200, {"input_tokens": estimate_tokens(request.body)})
        if self.rate_limiter is not None:  # rate limits: admit or answer 429, headers on every response
            return await self._limited(conn, request, self.rate_limiter)
        return await self._answer(conn, request)

    async def _limited(self, conn: _Connection, request: Request, limiter: RateLimiter) -> bool:
        admitted = limiter.admit(request, lambda: self.cache.usage(request.body))
        if isinstance(admitted, float):
            conn.headers = limiter.rejection_headers(request)
            message = f"This request would exceed your per-minute rate limit for {request.model}; retry later"
            return await conn.send_error(429, "rate_limit_error", message, retry_after=admitted)
        conn.headers = admitted.headers
        try:
            return await self._answer(conn, request)
        finally:
            conn.headers = {}
            limiter.settle(request)

    # -- answering /v1/messages --------------------------------------------------------------

    async def _answer(self, conn: _Connection, request: Request) -> bool:
        if request.body["max_tokens"] == 0:  # cache pre-warming: nothing generated, nothing consumed
            return await self._send_reply(conn, request, Reply([], stop_reason="max_tokens"))
        partial = Reply([])  # what a broken stream shows before it breaks
        try:
            item = await self._next(conn, request)
            if isinstance(item, Fault) and _shows_the_next_reply(item, request):
                partial = await self._peek(request)
        except _Gone:
            return False
        except Exception as err:  # a handler bug: surface it at once rather than have it retried
            self.errors.append(err)
            detail = "".join(traceback.format_exception_only(err)).strip()
            return await conn.send_error(
                500, "api_error", f"agentkit.testing: the handler raised {detail}", retry=False
            )
        if item is None:
            return await conn.send_error(500, "api_error", _RAN_OUT.format(n=len(self.requests)))
        if isinstance(item, Reply):
            return await self._send_reply(conn, request, item)
        if item.kind in ("status", "expired", "canceled") or (item.kind == "stream_error" and not request.stream):
            return await conn.send_error(item.status, item.error_type, item.message, retry_after=item.retry_after)
        if item.kind == "reset" or (item.kind == "cut_stream" and not request.stream):
            conn.reset()
            return False
        message = self._render(request, partial)
        if not request.stream:  # end_stream, close_stream, cut_body: the JSON body cut in half
            return await conn.send_cut_json(message, item.kind)
        events = stream_events(message)[: item.after_events]
        if item.kind in ("cut_stream", "cut_body"):  # closing early leaves the chunked body unterminated
            return await conn.send_events(events, complete=False)
        if item.kind == "end_stream":  # the chunked terminator, but no message_stop
            return await conn.send_events(events)
        if item.kind == "close_stream":  # a close-delimited body: the FIN ends it
            return await conn.send_events(events, delimited="close")
        error = {"type": "error", "error": {"type": item.error_type, "message": item.message}}
        return await conn.send_events([*events, {**error, "request_id": _request_id()}])

    async def _next(self, conn: _Connection, request: Request) -> Reply | Fault | None:
        while True:
            item = await self.scripted(request)
            if not (isinstance(item, Fault) and item.kind == "hang"):
                return item
            await conn.wait_while_connected(item.seconds)

    async def scripted(self, request: Request) -> Reply | Fault | None:
        """The next item of the script for `request`: queued first, then the handler's; None when neither."""
        if self._queue:
            item: Reply | Fault = self._queue.popleft()
        elif self._handler is not None:
            result = self._handler(request)
            item = await result if inspect.isawaitable(result) else result
        else:
            return None
        if not isinstance(item, Reply | Fault):
            raise TypeError(f"a script item must be a Reply or a Fault, not {item!r}")
        return item

    async def _peek(self, request: Request) -> Reply:
        """The reply a cut stream shows part of; it stays queued so a retry receives it whole."""
        if self._queue and isinstance(self._queue[0], Reply):
            return self._queue[0]
        if not self._queue and self._handler is not None:
            result = self._handler(request)
            result = await result if inspect.isawaitable(result) else result
            if isinstance(result, Reply):
                return result
        return Reply.text("This reply was cut off by a Fault before it could finish.")

    def _render(self, request: Request, reply: Reply) -> dict[str, Any]:
        produced = output_tokens(reply.content) if reply.content else 0
        limiter = self.rate_limiter
        inputs = limiter.rendered(request, produced) if limiter is not None else None
        usage = {**(inputs or self.cache.usage(request.body)), "output_tokens": produced, "service_tier": "standard"}
        return render_message(reply, model=request.model, usage=usage)

    async def _send_reply(self, conn: _Connection, request: Request, reply: Reply) -> bool:
        message = self._render(request, reply)
        if request.stream:
            return await conn.send_events(stream_events(message))
        return await conn.send_json(200, message)


class _Connection:
    """One client socket: HTTP/1.1 requests in (Content-Length bodies), responses out."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.headers: dict[str, str] = {}  # added to every response while set (the rate-limit headers)

    async def read_request(self) -> tuple[str, str, dict[str, str], bytes]:
        lines = (await self.reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        method, target, _version = lines[0].split(" ", 2)
        headers: dict[str, str] = {}
        for line in filter(None, lines[1:]):
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        raw = await self.reader.readexactly(int(headers.get("content-length") or 0))
        return method, target, headers, raw

    async def _write(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def send_json(self, status: int, payload: dict[str, Any], extra: dict[str, str] | None = None) -> bool:
        data = json.dumps(payload).encode()
        request_id = payload.get("request_id") or _request_id()
        headers = {
            "content-type": "application/json",
            "content-length": str(len(data)),
            "request-id": request_id,
        }
        await self._write(_head(status, {**headers, **self.headers, **(extra or {})}) + data)
        return True

    async def send_error(
        self,
        status: int,
        error_type: str,
        message: str,
        *,
        retry_after: float = 0.0,
        retry: bool | None = None,
    ) -> bool:
        """An error in the API's shape. Retryable ones carry `retry-after-ms` (at least 1 ms), which the
        SDK obeys instead of its own 0.5-8 s backoff, so scripted faults do not slow a test suite."""
        payload = {
            "type": "error",
            "error": {"type": error_type, "message": message},
            "request_id": _request_id(),
        }
        retryable = status in (408, 409, 429) or status >= 500 if retry is None else retry
        extra = {"x-should-retry": "true" if retryable else "false"}
        if retryable:
            extra["retry-after"] = str(math.ceil(retry_after))
            extra["retry-after-ms"] = str(max(1, round(retry_after * 1000)))
        return await self.send_json(status, payload, extra)

    async def send_events(
        self,
        events: list[dict[str, Any]],
        *,
        complete: bool = True,
        delimited: Literal["chunked", "close"] = "chunked",
    ) -> bool:
        """Server-sent events as a `text/event-stream`: chunked, one chunk per event, or
        close-delimited (no length; the connection's close ends the body). False when the
        connection must not be reused."""
        headers = {"content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache"}
        framing = {"transfer-encoding": "chunked"} if delimited == "chunked" else {"connection": "close"}
        await self._write(_head(200, {**headers, **self.headers, **framing, "request-id": _request_id()}))
        for event in events:
            data = f"event: {event['type']}\ndata: {json.dumps(event, separators=(',', ':'))}\n\n".encode()
            await self._write(b"%x\r\n%s\r\n" % (len(data), data) if delimited == "chunked" else data)
        if delimited == "close":
            self.writer.close()  # the FIN that ends a close-delimited body
            return False
        if complete:
            await self._write(b"0\r\n\r\n")
        return complete

    async def send_cut_json(self, payload: dict[str, Any], kind: str) -> bool:
        """The first half of a JSON body: with a matching `content-length` (`end_stream`), close-
        delimited (`close_stream`), or promised whole by `content-length` and cut by a FIN (`cut_body`)."""
        data = json.dumps(payload).encode()
        cut = data[: len(data) // 2]
        headers = {"content-type": "application/json", "request-id": _request_id()}
        if kind == "end_stream":
            headers["content-length"] = str(len(cut))
        elif kind == "cut_body":
            headers["content-length"] = str(len(data))
        else:
            headers["connection"] = "close"
        await self._write(_head(200, headers) + cut)
        self.writer.close()
        return False

    def reset(self) -> None:
        """Abort the connection with a TCP RST (SO_LINGER 0), as a crashed proxy would."""
        sock = self.writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.writer.transport.abort()

    async def wait_while_connected(self, seconds: float) -> None:
        """Sleep `seconds`, raising `_Gone` as soon as the client hangs up (as a timed-out SDK does)."""
        deadline = time.monotonic() + seconds
        while (remaining := deadline - time.monotonic()) > 0:
            if self.reader.at_eof() or self.reader.exception() is not None:
                raise _Gone
            await asyncio.sleep(min(0.02, remaining))


def _shows_the_next_reply(fault: Fault, request: Request) -> bool:
    """Whether `fault` sends part of the reply queued after it (which then stays queued)."""
    if fault.kind in ("end_stream", "close_stream", "cut_body"):
        return True
    if fault.kind == "cut_stream":
        return request.stream
    return fault.kind == "stream_error" and request.stream and fault.after_events > 1


def _parse_body(raw: bytes) -> tuple[dict[str, Any], str | None]:
    try:
        body = json.loads(raw or b"{}")
    except ValueError as err:
        return {}, f"There was an error parsing the body of your request: {err}"
    return (body, None) if isinstance(body, dict) else ({}, "Request body must be a JSON object")


def _authenticated(headers: dict[str, str]) -> bool:
    return bool(headers.get("x-api-key") or headers.get("authorization"))


def _request_id() -> str:
    return "req_" + secrets.token_hex(12)


def _head(status: int, headers: dict[str, str]) -> bytes:
    phrase = "Overloaded" if status == 529 else http.HTTPStatus(status).phrase
    lines = [f"HTTP/1.1 {status} {phrase}", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
