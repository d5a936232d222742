"""The run loop: one async generator behind `run`, `run_sync`, `stream` and `extract`.

Per turn: build the request, get one complete answer from the model (continuing past
`max_tokens` when it must), judge it, then run the tools and loop, or finish. Every stage is a
module of this package, in call order; this file only sequences them.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from contextlib import aclosing
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import anyio

from ..errors import (
    ContextWindowExceeded,
    MaxTurnsExceeded,
    OutputValidationError,
    Refused,
    RunError,
    UsageLimitExceeded,
)
from ..output import OutputAttempt, OutputSpec
from ..result import RunEvent, RunFinished, RunResult, ToolCallFinished, TurnFinished
from ..tools import RunContext, ToolResult
from ..usage import Usage, UsageLimits
from .build import build_params
from .cache import place_breakpoints
from .context import fit_to_budget
from .continuation import Answer, complete
from .finish import judge, thinking_of
from .render import render_system
from .run_tools import run_tools, tool_calls
from .tokens import TokenCounter
from .trim import is_prompt

if TYPE_CHECKING:
    import anthropic
    from anthropic.types import Message, MessageParam

    from ..agent import Agent
    from ..telemetry import RunTelemetry


@dataclass(frozen=True)
class RunInput:
    """Everything one run needs besides the agent's own settings.

    `messages` is the history with the new prompt; the loop appends to it, so it is the run's
    history at every moment. `checkpoint` is called with it whenever a turn is complete.
    """

    agent: Agent
    client: anthropic.AsyncAnthropic
    messages: list[MessageParam]
    variables: dict[str, Any]
    deps: Any
    output: OutputSpec[Any] | None
    stream: bool = False
    checkpoint: Callable[[list[MessageParam]], Awaitable[None]] | None = None
    conversation_id: str | None = None


async def run_events(run: RunInput) -> AsyncGenerator[RunEvent, None]:
    """Drive one run to its end, yielding what happens; the last event is `RunFinished`.

    The run is one `invoke_agent` span; it ends however the run does (result, error, cancel, close).
    """
    from ..telemetry import RunTelemetry

    run_id = uuid.uuid4().hex
    agent = run.agent
    tel = RunTelemetry(
        agent_name=agent.name,
        model=agent.model,
        run_id=run_id,
        conversation_id=run.conversation_id or run_id,
        client=run.client,
        settings=agent.telemetry,
    )
    with tel:
        async with aclosing(_turns(run, tel)) as events:
            async for event in events:
                if isinstance(event, RunFinished):
                    event.result.trace_id = tel.trace_id
                    tel.finish(event.result)  # before the yield: `run()` stops reading after it
                yield event


async def _turns(run: RunInput, tel: RunTelemetry) -> AsyncGenerator[RunEvent, None]:
    agent, output, client = run.agent, run.output, tel.client
    system = render_system(agent.system_prompt, run.variables, output, thinking=agent.thinking is not None)
    messages = run.messages
    save = run.checkpoint or _no_checkpoint
    await save(messages)
    usage = Usage()
    counter = TokenCounter(model=agent.model)
    turn_start = max((i for i, m in enumerate(messages) if is_prompt(m)), default=0)
    dropped = 0
    ctx = RunContext(deps=run.deps, agent=agent, usage=usage, messages=messages, run_id=tel.run_id, turn=0)
    attempts: list[OutputAttempt] = []
    thoughts: list[str] = []

    for turn in range(1, agent.max_turns + 1):
        answer: Answer | None = None
        try:
            params = build_params(agent, system, messages, output)
            params, dropped = await fit_to_budget(
                client, params, messages, agent=agent, counter=counter, turn_start=turn_start, usage=usage
            )
            if agent.usage_limits is not None:
                params = _within_limits(agent.usage_limits, params, usage, counter.estimate(params))
            sent = place_breakpoints(params, mode=agent.cache, ttl=agent.cache_ttl, measure=counter)
            turn_items = complete(
                client, sent, stream=run.stream, max_continuations=agent.max_continuations, tel=tel, turn=turn
            )
            async with aclosing(turn_items):
                async for item in turn_items:
                    if isinstance(item, Answer):
                        answer = item
                    else:
                        yield item
        except RunError as exc:
            if exc.usage is not None:
                usage.add(exc.usage)
            exc.messages, exc.usage = list(messages), usage
            raise
        assert answer is not None
        usage.add(answer.usage)
        response = answer.response
        counter.observe(params, response.usage, answer.message)
        yield TurnFinished(turn, response, answer.usage)
        if response.stop_reason in ("refusal", "model_context_window_exceeded"):
            raise _stopped(response, messages, usage)
        if answer.message is not None:
            messages.append(answer.message)
        thoughts.append(thinking_of(response))

        calls = tool_calls(response.content)
        verdict = judge(response, calls, output)
        for call in verdict.calls:
            yield call
        try:
            results = await run_tools(verdict.calls, agent.toolset, dataclasses.replace(ctx, turn=turn), tel)
        except anyio.get_cancelled_exc_class():
            # Answer every call, so the history the caller keeps (and the session) stays valid.
            cancelled = _user_reply(
                calls, {c.id: ToolResult(_CANCELLED, is_error=True) for c in verdict.calls}, verdict
            )
            if cancelled is not None:
                messages.append(cancelled)
            with anyio.CancelScope(shield=True):
                await save(messages)
            raise
        for call, result in zip(verdict.calls, results, strict=True):
            yield ToolCallFinished(call.id, call.name, result.content, result.is_error)
        reply = _user_reply(calls, {c.id: r for c, r in zip(verdict.calls, results, strict=True)}, verdict)
        if reply is not None:
            messages.append(reply)
            await save(messages)

        if verdict.attempt is not None:
            attempts.append(verdict.attempt)
            if len(attempts) > agent.output_retries:
                raise OutputValidationError(
                    f"The answer did not match {output.output_type!r} after {len(attempts)} attempts; "  # type: ignore[union-attr]
                    f"last errors:\n{verdict.attempt.errors}",
                    attempts=attempts,
                    messages=messages,
                    usage=usage,
                )
        if verdict.final:
            if reply is None:
                await save(messages)
            thinking = "\n\n".join(t for t in thoughts if t)
            stop = response.stop_reason or "end_turn"
            context = counter.stats(dropped)
            yield RunFinished(
                RunResult(verdict.output, messages, usage, stop, turn, response, ctx.run_id, thinking, context)
            )
            return

    raise MaxTurnsExceeded(
        f"Agent {agent.name!r} reached max_turns={agent.max_turns} before a final answer; "
        "raise max_turns or resume with history=error.messages",
        messages=messages,
        usage=usage,
    )


_CANCELLED = "Cancelled: the run was stopped before this tool finished."


async def _no_checkpoint(messages: list[MessageParam]) -> None:
    return None


def _within_limits(limits: UsageLimits, params: dict[str, Any], usage: Usage, prompt: int) -> dict[str, Any]:
    """The params if the request stays within `limits` (its max_tokens lowered to fit), else the error."""
    why = limits.check(usage, next_prompt_tokens=prompt, model=params["model"])
    if why is not None:
        raise UsageLimitExceeded(f"Usage limit reached before the next request: {why}")
    return {**params, "max_tokens": limits.max_tokens(usage, params["max_tokens"], prompt)}


def _user_reply(calls: Sequence[Any], ran: dict[str, ToolResult], verdict: Any) -> MessageParam | None:
    """One user turn answering every tool call of the response, in order, then any feedback."""
    results = {**ran, **verdict.answered}
    blocks: list[dict[str, Any]] = [results[c.id].to_block(c.id) for c in calls if c.id in results]
    if verdict.feedback:
        blocks.append({"type": "text", "text": verdict.feedback})
    return cast("MessageParam", {"role": "user", "content": blocks}) if blocks else None


def _stopped(response: Message, messages: list[MessageParam], usage: Usage) -> RunError:
    """The error for a response the loop cannot go on from; the history leaves that response out."""
    kept = list(messages)
    if response.stop_reason == "refusal":
        details = response.stop_details
        return Refused(f"The model refused to answer: {details}", stop_details=details, messages=kept, usage=usage)
    return ContextWindowExceeded(
        "The conversation exceeds the model's context window; shorten the history or set a memory budget",
        messages=kept,
        usage=usage,
    )
