"""The run hooks of a durable run: every model call and tool call a DBOS step, approvals durable waits.

A step runs once; its outcome is written to the system database before the workflow goes on, and
a recovered workflow gets the written outcome back instead of running the step again.

- A model call's checkpoint is the SDK `Message` (its JSON, as the API sent it), so usage, stop
  reason and thinking signatures come back exactly. The run's client has `max_retries=0`: the
  step's own retry policy (`ModelRetries`, the SDK's defaults by default) is the only one, so a
  request is never retried twice over (SDK retries inside engine retries).
- A tool call is a step; for a tool that is not `idempotent`, two: a marker that it started,
  then its result. When a crash cut such a tool short, recovery finds the marker without a
  result and gives the model an error result saying it may or may not have taken effect, rather
  than run it a second time. An `idempotent` tool cut short simply runs again.
  A tool with `durable=False` (a pure function) is no step: it simply runs again on replay.
- An approval is `DBOS.recv` on a topic per call: it survives restarts, and the decision can be
  sent from any process (`agentkit approve`, `agentkit.durable.approve`).

Step ids are drawn in the order the loop calls the hooks (tool calls in the order of the calls),
so a replay meets the same step at the same id.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .._loop.tools import MAY_HAVE_RUN
from ..errors import APIError

if TYPE_CHECKING:
    from anthropic.types import Message

    from ..hooks import Approval, ModelCallHook, RunHooks
    from ..result import ToolCallReady
    from ..tools import Tool, ToolResult

__all__ = ["INTERRUPTED", "ModelRetries", "approval_topic", "durable_hooks"]

INTERRUPTED = MAY_HAVE_RUN  # the words a resumed session uses for the same case
PENDING_EVENT = "agentkit.pending_approvals"
_FOREVER = 10 * 365 * 24 * 3600.0  # DBOS.recv takes a finite timeout; ten years is "until decided"


@dataclass(frozen=True)
class ModelRetries:
    """How a model call's step retries a failed request (in place of the SDK's own retries).

    The default matches the SDK's: 2 retries, 0.5 s then 1 s apart, for 408, 409, 429, 5xx,
    connection errors and a response stream that broke.

    Args:
        attempts: Tries in all, the first included (1: never retry).
        interval: Seconds before the first retry.
        backoff: Factor on the interval after each retry.
    """

    attempts: int = 3
    interval: float = 0.5
    backoff: float = 2.0


def approval_topic(call_id: str) -> str:
    """The DBOS topic a durable run waits on for its decision on tool call `call_id`."""
    return f"agentkit.approval:{call_id}"


def retryable(error: BaseException) -> bool:
    """Whether a failed model request is worth sending again (as the SDK would decide)."""
    if not isinstance(error, APIError):
        return False
    status = error.status_code
    if status is None:  # no response: a connection error, a timeout, a body cut mid-stream
        return True
    if status == 200:  # an `event: error` inside a stream
        return error.error_type in ("overloaded_error", "api_error")
    return status in (408, 409, 429) or status >= 500


def durable_hooks(*, retries: ModelRetries, approval_timeout: float | None, run_id: str) -> RunHooks:
    """The hooks that make one run's model calls, tool calls and approvals durable; the run takes
    the workflow's id, so a tool's `ctx.run_id` (an idempotency key) is the same after a recovery."""
    from ..hooks import RunHooks

    return RunHooks(
        model_call=_model_call(retries),
        tool_call=_tool_call,
        approve=_approver(approval_timeout),
        run_id=run_id,
    )


def _model_call(retries: ModelRetries) -> ModelCallHook:
    from dbos import DBOS, StepOptions

    options: StepOptions = {
        "name": "agentkit.model_call",
        "retries_allowed": retries.attempts > 1,
        "max_attempts": max(retries.attempts, 1),
        "interval_seconds": retries.interval,
        "backoff_rate": retries.backoff,
        "should_retry": retryable,
    }

    async def model_call(params: dict[str, Any], send: Callable[[], Awaitable[Message]]) -> Message:
        from anthropic.types import Message
        from dbos import error as dbos_errors

        async def step() -> dict[str, Any]:
            message = await send()
            # exclude_unset: the checkpoint holds what the API sent, so the blocks go back unchanged.
            return message.model_dump(mode="json", by_alias=True, exclude_unset=True)

        try:
            data = await DBOS.run_step_async(options, step)
        except dbos_errors.DBOSMaxStepRetriesExceeded as exc:  # the last attempt's error, as a plain run raises it
            raise exc.errors[-1] from exc
        return Message.model_validate(data)

    return model_call


async def _tool_call(call: ToolCallReady, tool: Tool | None, run: Callable[[], Awaitable[ToolResult]]) -> ToolResult:
    from dbos import DBOS

    from ..tools import ToolResult
    from ..usage import Usage

    if tool is None or not tool.durable:  # an unknown name's error result, or a pure function: no step
        return await run()

    async def execute() -> dict[str, Any]:
        result = await run()
        usage = dataclasses.asdict(result.usage) if result.usage is not None else None  # a sub-agent's
        return {"content": result.content, "is_error": result.is_error, "usage": usage}

    def restored(data: dict[str, Any]) -> ToolResult:
        usage = data.get("usage")
        return ToolResult(data["content"], is_error=data["is_error"], usage=Usage(**usage) if usage else None)

    if tool.idempotent:  # run again if a crash cut it short: one step, no marker
        return restored(await DBOS.run_step_async({"name": f"agentkit.tool:{call.name}"}, execute))
    # Both ids drawn before the first await: concurrent calls get them in the order of the calls.
    marker, outcome = DBOS.reserve_step(), DBOS.reserve_step()
    fresh = False

    async def started() -> bool:
        nonlocal fresh
        fresh = True
        return True

    async def once() -> dict[str, Any]:
        if not fresh:  # the marker was replayed without a result: an earlier attempt was cut short
            return {"content": INTERRUPTED, "is_error": True}
        return await execute()

    await marker.run_async({"name": f"agentkit.tool_started:{call.name}"}, started)
    return restored(await outcome.run_async({"name": f"agentkit.tool:{call.name}"}, once))


def _approver(timeout: float | None) -> Callable[[Sequence[ToolCallReady]], Awaitable[Mapping[str, Approval]]]:
    async def approve(calls: Sequence[ToolCallReady]) -> Mapping[str, Approval]:
        from dbos import DBOS

        pending = [{"id": c.id, "name": c.name, "input": c.input} for c in calls]
        await DBOS.set_event_async(PENDING_EVENT, pending)
        decisions: dict[str, Approval] = {}
        deadline = None if timeout is None else time.time() + timeout
        for call in calls:
            # On replay a received decision comes back at once, whatever the timeout; a wait that
            # was under way keeps its first deadline (DBOS records it).
            left = _FOREVER if deadline is None else max(deadline - time.time(), 0.0)
            decision = await DBOS.recv_async(approval_topic(call.id), timeout_seconds=left)
            decisions[call.id] = _decision(decision, timeout)
            pending = [p for p in pending if p["id"] != call.id]
            await DBOS.set_event_async(PENDING_EVENT, pending)
        return decisions

    return approve


def _decision(message: Any, timeout: float | None) -> Approval:
    if message is None:
        return f"Denied: no decision within the approval timeout of {timeout or _FOREVER:g} s."
    if isinstance(message, bool | str):
        return message
    return False
