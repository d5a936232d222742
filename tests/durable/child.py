"""A process the crash tests start, kill with SIGKILL, and start again: one durable agent, two tools.

    python child.py start RUN_ID     # launch DBOS, run the agent durably as RUN_ID, print the result
    python child.py resume RUN_ID    # launch DBOS (which recovers RUN_ID), wait for it, print the result
    agentkit worker tests.durable.child  # the same agent, served to a queue (the Postgres suite)

The environment names the system database (DATABASE), the test's MessagesServer (SERVER_URL), a
folder for side effects (WORK: `effects` gets a line per tool start and end), and HOLD: a tool
that, the first time it runs in any process, announces it on the fifo WORK/started and then
blocks forever.
Spans go to WORK/spans.jsonl, one JSON object per ended span, as they end.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import anyio

from agentkit import Agent, tool
from agentkit.durable import DurableAgent, launch

WORK = Path(os.environ.get("WORK", "."))


def _effect(line: str) -> None:
    with (WORK / "effects").open("a") as effects:
        effects.write(line + "\n")


def _maybe_hold(name: str) -> None:
    """Hold tool `name` the first time it runs in any process (the file `held` is the claim)."""
    if os.environ.get("HOLD") != name:
        return
    try:
        os.close(os.open(WORK / "held", os.O_CREAT | os.O_EXCL))
    except FileExistsError:
        return
    with open(WORK / "started", "w") as fifo:  # the test is reading: it kills this process now
        fifo.write(f"{name} {os.getpid()}\n")
    threading.Event().wait()


@tool(idempotent=True)
def lookup(order: str) -> str:
    """Look up an order.

    Args:
        order: The order id.
    """
    _effect(f"lookup {order} start")
    _maybe_hold("lookup")
    _effect(f"lookup {order} done")
    return f"{order}: 1 kettle, 40 EUR"


@tool(requires_approval=lambda args: args.get("amount", 0) > 100)
def charge(order: str, amount: int) -> str:
    """Charge the customer for an order (not idempotent: charging twice charges twice).

    Args:
        order: The order id.
        amount: Euros.
    """
    _effect(f"charge {order} {amount} start")
    _maybe_hold("charge")
    _effect(f"charge {order} {amount} done")
    return f"charged {amount} EUR for {order}"


def make_agent(client: Any = None) -> Agent:
    return Agent(name="shop", model="claude-sonnet-4-6", tools=[lookup, charge], client=client)


def _client() -> Any:
    import anthropic

    return anthropic.AsyncAnthropic(base_url=os.environ["SERVER_URL"], api_key="sk-ant-test")


# Imported by `agentkit worker tests.durable.child`: the agent exists before the worker launches.
durable = DurableAgent(make_agent(_client()), approval_timeout=float(os.environ.get("APPROVAL_TIMEOUT", "600")))


def _tracing() -> None:
    from opentelemetry import trace
    from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

    class JsonLines(SpanExporter):
        def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
            with (WORK / "spans.jsonl").open("a") as out:
                for span in spans:
                    context, parent = span.get_span_context(), span.parent
                    assert context is not None
                    record = {
                        "name": span.name,
                        "trace_id": f"{context.trace_id:032x}",
                        "span_id": f"{context.span_id:016x}",
                        "parent_id": f"{parent.span_id:016x}" if parent else None,
                        "pid": os.getpid(),
                    }
                    out.write(json.dumps(record) + "\n")
            return SpanExportResult.SUCCESS

    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(JsonLines()))
    trace.set_tracer_provider(provider)


def main(mode: str, run_id: str) -> None:
    _tracing()
    launch(os.environ["DATABASE"])

    async def go() -> None:
        if mode == "start":
            result = await durable.run("Charge order A-1 for its kettle.", run_id=run_id)
        else:
            result = await DurableAgent.result(run_id)
        usage = result.usage
        print(
            json.dumps(
                {
                    "output": result.output,
                    "messages": result.messages,
                    "usage": [usage.input_tokens, usage.output_tokens, usage.requests],
                    "run_id": result.run_id,
                    "trace_id": result.trace_id,
                }
            ),
            flush=True,
        )

    anyio.run(go)
    from agentkit.durable import shutdown

    shutdown()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
