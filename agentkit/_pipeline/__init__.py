"""The run loop: one async generator behind `run`, `run_sync` and (later) `stream`.

Each turn: render the system prompt (once), build the request, call the model, then by stop
reason either run the tools and loop, or finish. Every stage is a module of this package, in
call order; this file only sequences them.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import APIError, ContextWindowExceeded, MaxTokensReached, MaxTurnsExceeded, Refused, RunError
from ..result import ModelResponse, RunEvent, RunFinished, RunResult
from ..tools import RunContext
from ..usage import Usage
from .build import build_params, user_message
from .call import assistant_message, call_model
from .finish import text_output
from .render import render_system
from .run_tools import run_tools, tool_calls, tool_results_message

if TYPE_CHECKING:
    import anthropic
    from anthropic.types import Message, MessageParam

    from ..agent import Agent


@dataclass(frozen=True)
class RunInput:
    """Everything one run needs besides the agent's own settings."""

    agent: Agent
    client: anthropic.AsyncAnthropic
    prompt: str | Sequence[dict[str, Any]]
    variables: dict[str, Any]
    history: Sequence[MessageParam]
    deps: Any


async def run_events(run: RunInput) -> AsyncIterator[RunEvent]:
    """Drive one run to its end, yielding what happens; the last event is `RunFinished`."""
    agent = run.agent
    system = render_system(agent.system_prompt, run.variables)
    messages: list[MessageParam] = [*run.history, user_message(run.prompt)]
    usage = Usage()
    ctx = RunContext(
        deps=run.deps, agent=agent, usage=usage, messages=messages, run_id=uuid.uuid4().hex, turn=0
    )

    for turn in range(1, agent.max_turns + 1):
        params = build_params(
            model=agent.model,
            max_tokens=agent.max_tokens,
            system=system,
            tools=list(agent.toolset.values()),
            messages=messages,
            request_params=agent.request_params,
        )
        try:
            response = await call_model(run.client, params)
        except APIError as exc:
            exc.messages, exc.usage = list(messages), usage
            raise
        turn_usage = Usage.from_response(response.usage)
        usage.add(turn_usage)
        yield ModelResponse(turn, response, turn_usage)

        stop = response.stop_reason
        calls = tool_calls(response.content)
        reply = assistant_message(response)
        if stop in ("max_tokens", "refusal", "model_context_window_exceeded"):
            raise _stopped(response, messages, usage, agent.max_tokens)
        if reply is not None:
            messages.append(reply)
        if calls:
            for call in calls:
                yield call
            returns = await run_tools(calls, agent.toolset, dataclasses.replace(ctx, turn=turn))
            for returned in returns:
                yield returned
            messages.append(tool_results_message(returns))
        elif stop != "pause_turn":
            output = text_output(response)
            yield RunFinished(
                RunResult(output, messages, usage, stop or "end_turn", turn, response, ctx.run_id)
            )
            return

    raise MaxTurnsExceeded(
        f"Agent {agent.name!r} reached max_turns={agent.max_turns} while the model was still calling "
        "tools; raise max_turns or resume with history=error.messages",
        messages=messages,
        usage=usage,
    )


def _stopped(response: Message, messages: list[MessageParam], usage: Usage, max_tokens: int) -> RunError:
    """The error for a response the loop cannot go on from; the history leaves that response out."""
    kept = list(messages)
    if response.stop_reason == "refusal":
        details = response.stop_details
        return Refused(
            f"The model refused to answer: {details}", stop_details=details, messages=kept, usage=usage
        )
    if response.stop_reason == "model_context_window_exceeded":
        return ContextWindowExceeded(
            "The conversation exceeds the model's context window; shorten the history or set a memory budget",
            messages=kept,
            usage=usage,
        )
    cut = "a tool call" if any(b.type == "tool_use" for b in response.content) else "the answer"
    return MaxTokensReached(
        f"The model hit max_tokens={max_tokens} while writing {cut}; raise max_tokens",
        messages=kept,
        usage=usage,
    )
