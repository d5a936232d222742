"""Run hooks: where a layer on top of the loop (durable runs, batches) takes over one step.

The loop is the same for every run; a hook changes how one of its steps is carried out, never
what the loop does with the outcome:

- `model_call` wraps every model request of a run (each turn, each continuation piece, each
  redo with more room). `send()` performs the request; a durable run calls it inside a
  checkpointed step, a batch run never calls it and returns the batch result's `Message`.
- `tool_call` wraps every tool call the loop runs; `run()` runs the tool (validation, timeout,
  errors as results). A durable run makes it a step.
- `approve` decides the calls that need approval (see `Tool.requires_approval` and the agent's
  `approval` setting). Without it a run stops with `RunResult.pending_approvals` and
  `Agent.resume(session=..., approvals={...})` goes on.

With a `model_call` hook, stream deltas arrive when the hook returns (synthesised from the
returned `Message` when `send()` never ran), since a checkpointed step cannot stream.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias

if TYPE_CHECKING:
    from anthropic.types import Message

    from .result import ToolCallReady
    from .tools import Tool, ToolResult

__all__ = ["Approval", "ApprovalHook", "ModelCallHook", "RunHooks", "ToolCallHook"]

Approval: TypeAlias = bool | str
"""A decision on a tool call: True runs it; False denies it; a string denies it with that reason."""

ModelCallHook: TypeAlias = Callable[[dict[str, Any], Callable[[], Awaitable["Message"]]], Awaitable["Message"]]
"""`hook(params, send)`: `params` are the exact keywords of the request; `send()` sends it."""

ToolCallHook: TypeAlias = Callable[
    ["ToolCallReady", "Tool | None", Callable[[], Awaitable["ToolResult"]]], Awaitable["ToolResult"]
]
"""`hook(call, tool, run)`: `tool` is None for a name the agent does not have; `run()` runs the call."""

ApprovalHook: TypeAlias = Callable[[Sequence["ToolCallReady"]], Awaitable[Mapping[str, Approval]]]
"""`hook(calls)`: a decision per call id; a call left out stays pending."""


@dataclass(frozen=True)
class RunHooks:
    """How a layer on top of the loop carries out its steps; see the module docstring.

    Args:
        model_call: Wraps every model request.
        tool_call: Wraps every tool call.
        approve: Decides the tool calls that need approval.
        run_id: The id the run takes (a durable run's workflow id), in `RunResult.run_id`,
            `RunContext.run_id`, spans and logs; a new one when None.
    """

    model_call: ModelCallHook | None = None
    tool_call: ToolCallHook | None = None
    approve: ApprovalHook | None = None
    run_id: str | None = None
