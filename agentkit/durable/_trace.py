"""The trace context a durable run keeps in its workflow input, so a recovered run joins its trace.

When a run starts, the current span (if any) is its parent; with none, a `durable_run` span is
made and ended at once, to be the parent. Either way its W3C `traceparent` goes into the
workflow's input, and every attempt at the run (the first, and each recovery, in any process)
starts its `invoke_agent` span under it: one trace, however many processes the run took.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["attached", "carrier"]


def carrier(agent_name: str) -> dict[str, str]:
    """The trace context to store with a new run ({} when nothing is traced)."""
    from opentelemetry import propagate, trace

    context = None
    if not trace.get_current_span().get_span_context().is_valid:
        span = trace.get_tracer("agentkit.durable").start_span(
            f"durable_run {agent_name}", attributes={"gen_ai.agent.name": agent_name}
        )
        span.end()
        if not span.get_span_context().is_valid:  # no tracer SDK configured
            return {}
        context = trace.set_span_in_context(span)
    found: dict[str, str] = {}
    propagate.inject(found, context=context)
    return found


@contextmanager
def attached(stored: dict[str, str] | None) -> Iterator[None]:
    """Make the stored trace context current for the block (nothing when none was stored)."""
    if not stored:
        yield
        return
    from opentelemetry import context, propagate

    token = context.attach(propagate.extract(stored))
    try:
        yield
    finally:
        context.detach(token)
