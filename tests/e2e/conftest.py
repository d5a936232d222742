"""End-to-end tests against a server we did not write: llama.cpp's `llama-server` and a real model.

`make e2e` (`e2e/run.py`) installs and starts the server, then runs this folder with its address in
`AGENTKIT_E2E_BASE_URL`; without it (as in `make test`) the folder is not collected at all.

The tests check protocol shape, never answer quality (the model is SmolLM2-135M). Every request
agentkit sends is recorded on the wire and checked with `agentkit.testing.validate`, so a passing
test also shows that the real Messages API would have accepted each request. Where llama-server
deviates from the API, the test says so in a comment starting with "Deviation:".
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from typing import Any

import pytest

from .helpers import COUNT_TOKENS, MESSAGES, Traces, Wire

BASE_URL = os.environ.get("AGENTKIT_E2E_BASE_URL")
if not BASE_URL:
    collect_ignore_glob = ["test_*.py"]  # run them with `make e2e`


def pytest_report_header() -> str | None:
    return None if BASE_URL else "tests/e2e: not collected, no llama-server running; run them with `make e2e`"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def model() -> str:
    return os.environ.get("AGENTKIT_E2E_MODEL", "smollm2-135m-instruct")


@pytest.fixture
def wire() -> Wire:
    return Wire()


@pytest.fixture
async def client(wire: Wire) -> AsyncIterator[Any]:
    """The real SDK pointed at llama-server, through a transport that records (and may rewrite)."""
    import anthropic
    import httpx2

    class Recording(httpx2.AsyncBaseTransport):
        def __init__(self) -> None:
            self.inner = httpx2.AsyncHTTPTransport()

        async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
            path = request.url.path
            if path in (MESSAGES, COUNT_TOKENS):
                body = json.loads(await request.aread())
                wire.sent.append((path, body))
                if path == MESSAGES and wire.rewrite is not None:
                    changed = json.dumps(wire.rewrite(body)).encode()
                    headers = [(k, v) for k, v in request.headers.items() if k.lower() != "content-length"]
                    request = httpx2.Request(request.method, request.url, headers=headers, content=changed)
            return await self.inner.handle_async_request(request)

        async def aclose(self) -> None:
            await self.inner.aclose()

    http = anthropic.DefaultAsyncHttpxClient(transport=Recording())
    sdk = anthropic.AsyncAnthropic(
        base_url=BASE_URL, api_key=os.environ.get("AGENTKIT_E2E_API_KEY", ""), http_client=http, timeout=60
    )
    try:
        yield sdk
    finally:
        await sdk.close()
    if not wire.allow_rejected:
        rejected = wire.rejected()
        assert not rejected, "agentkit sent requests the real Messages API would reject:\n" + "\n".join(rejected)


@pytest.fixture
def traces() -> Traces:
    """`TelemetrySettings` sending spans to an in-memory exporter (opentelemetry-sdk)."""
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from agentkit.telemetry import TelemetrySettings

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return Traces(exporter, TelemetrySettings(tracer_provider=provider, capture_content=True))
