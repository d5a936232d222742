"""Stage 6: run the tool calls of one response concurrently and answer them in one user turn.

The API wants every `tool_use` answered in the very next user message, results first and in any
order; we keep the order of the calls so the history reads naturally. A tool's failure is an
error result for the model, never an exception for the run.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

import anyio

from ..result import ToolCall, ToolReturn
from ..tools import Tool, ToolResult

if TYPE_CHECKING:
    from anthropic.types import MessageParam

    from ..tools import RunContext


def tool_calls(content: Sequence[Any]) -> list[ToolCall]:
    """The client-side tool calls in a response (server tools run on the API's side)."""
    return [ToolCall(id=b.id, name=b.name, input=b.input) for b in content if b.type == "tool_use"]


async def run_tools(
    calls: Sequence[ToolCall], tools: Mapping[str, Tool], ctx: RunContext[Any]
) -> list[ToolReturn]:
    """Run every call at once; results come back in the order of the calls."""
    results: list[ToolReturn | None] = [None] * len(calls)

    async def run_one(index: int, call: ToolCall) -> None:
        outcome = await _run_call(call, tools, dataclasses.replace(ctx, tool_call_id=call.id))
        results[index] = ToolReturn(call.id, call.name, outcome.content, outcome.is_error)

    if len(calls) == 1:
        await run_one(0, calls[0])
    else:
        async with anyio.create_task_group() as group:
            for index, call in enumerate(calls):
                group.start_soon(run_one, index, call)
    return [r for r in results if r is not None]


def tool_results_message(returns: Sequence[ToolReturn]) -> MessageParam:
    """One user turn carrying every result, as the API requires."""
    blocks = [ToolResult(r.content, r.is_error).to_block(r.id) for r in returns]
    return cast("MessageParam", {"role": "user", "content": blocks})


async def _run_call(call: ToolCall, tools: Mapping[str, Tool], ctx: RunContext[Any]) -> ToolResult:
    tool = tools.get(call.name)
    if tool is None:
        available = ", ".join(sorted(tools)) or "none"
        return ToolResult(f"Unknown tool {call.name!r}. Available tools: {available}.", is_error=True)
    return await tool.run(call.input, ctx)
