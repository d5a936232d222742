"""agentkit's spans and the anthropic SDK's own tracing, through the real SDK and the offline server.

The SDK traces every API call when a tracer provider is available (here: given through its
`open_telemetry` option, as an application's global provider would be). agentkit replaces that span
with its own `chat {model}` span, merging in what only the SDK knew (request id, retries, HTTP
status), unless `sdk_spans=True`, where the SDK's span nests under agentkit's.
"""

from __future__ import annotations

from typing import Any

import anthropic
import pytest
from opentelemetry.trace import SpanKind, StatusCode
from otel_capture import Otel

from agentkit._telemetry._sdk import untraced
from agentkit.telemetry import RunTelemetry
from agentkit.testing import Fault, MessagesServer, Reply

pytestmark = pytest.mark.anyio

MODEL = "claude-haiku-4-5"
PARAMS: dict[str, Any] = {"model": MODEL, "max_tokens": 50, "messages": [{"role": "user", "content": "hi"}]}


def sdk_traced_client(server: MessagesServer, otel: Otel, **kwargs: Any) -> anthropic.AsyncAnthropic:
    return server.client(open_telemetry={"tracer_provider": otel.tracer_provider}, **kwargs)


class Started:
    """A run's telemetry and the client the run sends with, chosen as run setup chooses it."""

    def __init__(self, otel: Otel, client: Any, **settings: Any) -> None:
        self.tel = RunTelemetry(
            agent_name="greeter", model=MODEL, run_id="r", client=client, settings=otel.with_settings(**settings)
        ).start()
        self.client = client if settings.get("sdk_spans") else untraced(client)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.tel, name)


def start(otel: Otel, client: Any, **settings: Any) -> Any:
    return Started(otel, client, **settings)


async def test_agentkits_span_replaces_the_sdks_and_keeps_its_request_id(
    messages_server: MessagesServer, otel: Otel
) -> None:
    messages_server.script(Reply.text("hello"))
    client = sdk_traced_client(messages_server, otel)
    tel = start(otel, client)
    assert tel.client is not client  # the same client with the SDK's spans off, shared pool
    with tel.model_call(PARAMS, turn=1) as call:
        with call.activated():
            message = await tel.client.messages.create(**PARAMS)
        call.response(message)
    tel.fail(None)

    assert [s.name for s in otel.spans()] == ["invoke_agent greeter", f"chat {MODEL}"]
    chat = otel.span(f"chat {MODEL}")
    attributes = dict(chat.attributes or {})
    assert attributes["anthropic.request.id"] == message._request_id
    assert attributes["anthropic.request.id"].startswith("req_")
    assert attributes["server.address"] == "127.0.0.1"
    assert attributes["server.port"] == int(messages_server.url.rsplit(":", 1)[1])
    assert attributes["gen_ai.response.id"] == message.id
    assert start(otel, client).client is tel.client  # one copy per client, not one per run


async def test_retries_reach_agentkits_span_through_the_raw_response(
    messages_server: MessagesServer, otel: Otel
) -> None:
    messages_server.script(Fault.overloaded(), Reply.text("hello"))
    tel = start(otel, sdk_traced_client(messages_server, otel))
    with tel.model_call(PARAMS) as call:
        with call.activated():
            raw = await tel.client.messages.with_raw_response.create(**PARAMS)
        call.response(await raw.parse(), retries=raw.retries_taken)
    tel.fail(None)
    assert (otel.span(f"chat {MODEL}").attributes or {})["http.request.resend_count"] == 1


async def test_a_failed_call_keeps_the_apis_error_type_status_and_request_id(
    messages_server: MessagesServer, otel: Otel
) -> None:
    messages_server.script(Fault.overloaded(), Fault.overloaded(), Fault.overloaded())
    tel = start(otel, sdk_traced_client(messages_server, otel))
    with pytest.raises(anthropic.APIStatusError), tel.model_call(PARAMS) as call, call.activated():
        await tel.client.messages.create(**PARAMS)
    tel.fail(None)
    chat = otel.span(f"chat {MODEL}")
    assert chat.status.status_code is StatusCode.ERROR
    attributes = dict(chat.attributes or {})
    assert attributes["error.type"] == "overloaded_error"
    assert attributes["http.response.status_code"] == 529
    assert attributes["anthropic.request.id"].startswith("req_")


async def test_with_sdk_spans_the_sdks_span_nests_under_agentkits(messages_server: MessagesServer, otel: Otel) -> None:
    messages_server.script(Fault.overloaded(), Reply.text("hello"))
    client = sdk_traced_client(messages_server, otel)
    tel = start(otel, client, sdk_spans=True)
    assert tel.client is client
    with tel.model_call(PARAMS) as call:
        with call.activated():
            message = await tel.client.messages.create(**PARAMS)
        call.response(message)
    tel.fail(None)

    run, chat, sdk = otel.spans()
    assert (run.name, chat.name, sdk.name) == ("invoke_agent greeter", f"chat {MODEL}", "anthropic.messages.create")
    assert (chat.kind, sdk.kind) == (SpanKind.CLIENT, SpanKind.CLIENT)
    assert sdk.parent is not None
    assert sdk.parent.span_id == chat.context.span_id
    assert (sdk.attributes or {})["http.request.resend_count"] == 1
    # The SDK sent the chat span's context with the request, as it does for its own span's.
    traceparent = messages_server.requests[-1].headers["traceparent"]
    assert traceparent.split("-")[1] == format(chat.context.trace_id, "032x")


async def test_a_streamed_call_is_current_only_while_the_request_is_sent(
    messages_server: MessagesServer, otel: Otel
) -> None:
    messages_server.script(Reply.text("hello there"))
    tel = start(otel, sdk_traced_client(messages_server, otel), sdk_spans=True)
    texts = []
    with tel.model_call(PARAMS, stream=True) as call:
        manager = tel.client.messages.stream(**PARAMS)
        with call.activated():
            stream = await manager.__aenter__()
        try:
            async for event in stream:  # in the loop, deltas are yielded from here
                call.first_chunk()
                if event.type == "text":
                    texts.append(event.text)
            call.response(await stream.get_final_message())
        finally:
            await manager.__aexit__(None, None, None)
    tel.fail(None)

    assert "".join(texts) == "hello there"
    _, chat, sdk = otel.spans()
    assert sdk.parent is not None
    assert sdk.parent.span_id == chat.context.span_id
    assert (chat.attributes or {})["gen_ai.request.stream"] is True
    assert (chat.attributes or {})["gen_ai.usage.output_tokens"] > 0


async def test_trace_headers_carry_agentkits_span_when_the_sdks_is_off(
    messages_server: MessagesServer, otel: Otel
) -> None:
    messages_server.script(Reply.text("hello"))
    tel = start(otel, sdk_traced_client(messages_server, otel))
    with tel.model_call(PARAMS) as call, call.activated():
        await tel.client.messages.create(**PARAMS, extra_headers=call.trace_headers())
    tel.fail(None)
    chat = otel.span(f"chat {MODEL}")
    version, trace_id, span_id, _flags = messages_server.requests[-1].headers["traceparent"].split("-")
    assert (version, trace_id, span_id) == ("00", f"{chat.context.trace_id:032x}", f"{chat.context.span_id:016x}")


async def test_a_client_without_sdk_tracing_is_used_as_it_is(messages_server: MessagesServer, otel: Otel) -> None:
    client = messages_server.client(open_telemetry=False)
    assert start(otel, client).client is client
    assert untraced(client) is client  # the SDK makes no spans of its own: nothing to turn off
