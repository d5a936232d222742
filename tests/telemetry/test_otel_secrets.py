"""The API key never reaches a span, a metric or a log line, whatever is switched on."""

from __future__ import annotations

import io
import logging

import anthropic
import pytest
from otel_capture import Otel

from agentkit._telemetry._sdk import untraced
from agentkit.telemetry import RunTelemetry, configure_logging
from agentkit.testing import Fault, MessagesServer, Reply, tool_use

pytestmark = pytest.mark.anyio

SECRET = "sk-ant-api03-CANARY-agentkit-7f3c9e1d5b-never-log-me"
PARAMS = {"model": "claude-haiku-4-5", "max_tokens": 50, "messages": [{"role": "user", "content": "hi"}]}


def everything(otel: Otel, logs: str) -> str:
    """Every exported span (attributes, events, status, resource, links), every metric, every log line."""
    spans = [span.to_json() for span in otel.exporter.get_finished_spans()]
    data = otel.reader.get_metrics_data()
    return "\n".join([*spans, data.to_json() if data else "", logs])


async def one_run(server: MessagesServer, otel: Otel, *, sdk_spans: bool) -> None:
    client = server.client(api_key=SECRET, open_telemetry={"tracer_provider": otel.tracer_provider})
    settings = otel.with_settings(capture_content=True, sdk_spans=sdk_spans)
    tel = RunTelemetry(agent_name="a", model="claude-haiku-4-5", run_id="r", client=client, settings=settings)
    sending = client if sdk_spans else untraced(client)  # as run setup chooses it
    with tel:
        for _ in range(2):
            with tel.model_call(PARAMS) as call:
                with call.activated():
                    message = await sending.messages.create(**PARAMS, extra_headers=call.trace_headers())
                call.response(message)
            with tel.tool_call("toolu_1", "echo", {"text": "hi"}) as tool:
                tool.result("Tool 'echo' failed: boom", is_error=True)
        with pytest.raises(anthropic.APIStatusError), tel.model_call(PARAMS) as call, call.activated():
            await sending.messages.create(**PARAMS)


@pytest.mark.parametrize("sdk_spans", [False, True])
async def test_the_api_key_appears_nowhere(messages_server: MessagesServer, otel: Otel, sdk_spans: bool) -> None:
    messages_server.script(
        Reply([tool_use("echo", {"text": "hi"})]),
        Reply.text("done"),
        Fault.server_error(),
        Fault.server_error(),
        Fault.server_error(),
    )
    out = io.StringIO()
    configure_logging(json=True, stream=out, level="DEBUG")  # the SDK's debug logs included
    try:
        await one_run(messages_server, otel, sdk_spans=sdk_spans)
    finally:
        logging.getLogger().setLevel(logging.WARNING)
    recorded = everything(otel, out.getvalue())
    assert "Request options" in recorded  # the SDK's debug records were rendered...
    assert '"gen_ai.input.messages"' in recorded  # ...and content was captured
    sent = messages_server.requests[0].headers
    assert SECRET in sent.get("authorization", "") + sent.get("x-api-key", "")  # the key did travel
    assert SECRET not in recorded
    assert SECRET[:24] not in recorded
