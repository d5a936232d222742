"""Stage 6: run the tool calls of one response concurrently.

A tool's failure is an error result for the model, never an exception for the run. Results come
back in the order of the calls, so the history reads naturally.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import anyio

from ..result import ToolCallReady
from ..tools import Tool, ToolResult

if TYPE_CHECKING:
    from ..telemetry import RunTelemetry
    from ..tools import RunContext


def tool_calls(content: Sequence[Any]) -> list[ToolCallReady]:
    """The client-side tool calls in a response (server tools run on the API's side)."""
    return [ToolCallReady(id=b.id, name=b.name, input=b.input) for b in content if b.type == "tool_use"]


async def run_tools(
    calls: Sequence[ToolCallReady], tools: Mapping[str, Tool], ctx: RunContext[Any], tel: RunTelemetry
) -> list[ToolResult]:
    """Run every call at once (sync tools in worker threads); results in the order of the calls.

    Each call is an `execute_tool` span, current while the tool runs, so spans a tool makes nest in it.
    """
    results: list[ToolResult] = [ToolResult("")] * len(calls)

    async def run_one(index: int, call: ToolCallReady) -> None:
        with tel.tool_call(call.id, call.name, call.input, turn=ctx.turn) as span:
            results[index] = await _run_call(call, tools, dataclasses.replace(ctx, tool_call_id=call.id))
            span.result(results[index].content, results[index].is_error)

    if len(calls) == 1:
        await run_one(0, calls[0])
    elif calls:
        async with anyio.create_task_group() as group:
            for index, call in enumerate(calls):
                group.start_soon(run_one, index, call)
    return results


async def _run_call(call: ToolCallReady, tools: Mapping[str, Tool], ctx: RunContext[Any]) -> ToolResult:
    tool = tools.get(call.name)
    if tool is None:
        available = ", ".join(sorted(tools)) or "none"
        return ToolResult(f"Unknown tool {call.name!r}. Available tools: {available}.", is_error=True)
    return await tool.run(call.input, ctx)
