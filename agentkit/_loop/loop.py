"""The turn loop: one async generator of events behind every entry point.

A run, top to bottom:

0. Start: render the system prompt, list the tools (toolsets included), and, when resuming a
   session, finish what the saved history left open: a finished run gives its result back with
   no request; tool calls without results are answered (run, denied, or reported as possibly
   run when a crash cut them off).
Then per turn, four verbs:

1. `prepare` the request: build it, fit the history to the memory budget, check the usage
   limits, place the cache breakpoints (`prepare.py`).
2. `complete` the turn: the model call, streamed or not, continued past `max_tokens` and redone
   when a stream breaks, each continuation under the same budget and limits (`continuation.py`).
3. `judge` it: a final answer, tool calls, an answer to validate again, a refusal (`outcome.py`).
4. `run_tools`: approvals first, then every call at once, each result saved as it lands; the
   verdict builds the reply that answers every call (`tools.py`).

The loop then goes on, or yields `RunFinished` with the `RunResult`. At every event the
history (`RunInput.messages`) is valid to send: if the consumer stops reading, the calls of the
turn in progress are answered before the generator closes.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import aclosing
from functools import partial
from typing import TYPE_CHECKING, Any

import anyio

from .._checks import remember_checked
from .._history import History
from ..errors import ContextWindowExceeded, MaxTurnsExceeded, Refused, RunError
from ..pacing import RunPacing
from ..result import RunEvent, RunFinished, RunResult, ToolCallFinished, ToolCallReady, TurnFinished
from ..tools import ToolResult
from . import prepare as _prepare
from ._learned import key_of
from .continuation import Answer, complete
from .outcome import Verdict, judge, text_of, thinking_of, tool_calls
from .state import RunInput, RunState
from .tokens import TokenCounter
from .tools import CANCELLED, MAY_HAVE_RUN, NOT_RUN, decide, list_tools, run_tools

if TYPE_CHECKING:
    from anthropic.types import Message, MessageParam

    from ..telemetry import RunTelemetry


async def run_events(run: RunInput) -> AsyncGenerator[RunEvent, None]:
    """Drive one run to its end, yielding what happens; the last event is `RunFinished`.

    The run is one `invoke_agent` span; it ends however the run does (result, error, cancel, close).
    """
    from ..telemetry import RunTelemetry

    settings = run.settings
    telemetry = settings.telemetry
    if settings.capture_content is not None:
        from dataclasses import replace

        from ..telemetry import TelemetrySettings

        telemetry = replace(telemetry or TelemetrySettings(), capture_content=settings.capture_content)
    state = await _start(run)
    tel = RunTelemetry(
        agent_name=settings.name,
        model=settings.model,
        run_id=state.run_id,
        conversation_id=run.conversation_id or state.run_id,
        client=run.client,
        settings=telemetry,
    )
    with tel:
        async with aclosing(_turns(state, tel)) as events:
            async for event in events:
                if isinstance(event, RunFinished):
                    event.result.trace_id = tel.trace_id
                    tel.finish(event.result)  # before the yield: `run()` stops reading after it
                yield event


async def _start(run: RunInput) -> RunState:
    settings, agent = run.settings, run.agent
    thinking = settings.effective_thinking is not None
    system = _prepare.render_system(agent.system_prompt, run.variables, run.output, thinking=thinking)
    tools = await list_tools(agent.toolset, agent.toolsets, settings.name)
    counter = TokenCounter(model=settings.model, key=key_of(run.client, settings.model))
    return RunState.start(run, system, tools, counter)


async def _turns(state: RunState, tel: RunTelemetry) -> AsyncGenerator[RunEvent, None]:
    run = state.input
    await run.journal.save(state.messages)
    if run.resuming:
        finished = _finished(state)
        if finished is not None:
            yield RunFinished(finished)
            return
        open_calls = await _open_calls(state)
        if open_calls is not None:
            async with aclosing(_act(state, open_calls, tel)) as events:
                async for event in events:
                    yield event
                    if isinstance(event, RunFinished):
                        return
    settings = state.settings
    strategy = run.agent.memory_strategy
    hook = run.hooks.model_call if run.hooks is not None else None
    pacing = RunPacing(  # pacing (issue 20): every request of the run waits for room in the rate limits
        enabled=settings.pacing,
        estimate=state.counter.estimate,
        span=tel.span,
        meter_provider=tel.settings.meter_provider,
    )
    for turn in range(1, settings.max_turns + 1):
        state.turn = turn
        if run.agent.toolsets:
            state.tools = await list_tools(run.agent.toolset, run.agent.toolsets, settings.name)
        answer: Answer | None = None
        try:
            prepared = await _prepare.prepare(state, run.client, strategy)  # 1. prepare
            guard = partial(_prepare.guard, state, run.client, strategy, prepared)  # continuations: same checks

            items = complete(  # 2. complete
                run.client,
                prepared.sent,
                stream=run.stream,
                max_continuations=settings.max_continuations,
                tel=tel,
                turn=turn,
                guard=guard,
                hook=hook,
                pacing=pacing,  # pacing (issue 20)
            )
            async with aclosing(items):
                async for item in items:
                    if isinstance(item, Answer):
                        answer = item
                    else:
                        yield item
        except RunError as exc:
            _with_history(exc, state)
            raise
        assert answer is not None
        state.paced_seconds = pacing.seconds  # pacing (issue 20)
        state.usage.add(answer.usage)
        response = answer.response
        state.counter.observe(prepared.params, answer.first_usage or response.usage, answer.message)
        yield TurnFinished(turn, response, answer.usage)
        if response.stop_reason in ("refusal", "model_context_window_exceeded"):
            raise _stopped(response, state)
        if answer.message is not None:
            state.messages.append(answer.message)
        state.thoughts.append(thinking_of(response))
        verdict = judge(response, run.output)  # 3. judge
        async with aclosing(_act(state, verdict, tel, response)) as events:  # 4. run the tools
            async for event in events:
                yield event
                if isinstance(event, RunFinished):
                    return
    raise MaxTurnsExceeded(
        f"Agent {settings.name!r} reached max_turns={settings.max_turns} before a final answer; "
        "raise max_turns or resume with history=error.messages",
        messages=state.messages,
        usage=state.usage,
    )


async def _act(
    state: RunState, verdict: Verdict, tel: RunTelemetry, response: Message | None = None
) -> AsyncGenerator[RunEvent, None]:
    """Run the verdict's tools and append the reply; the last event is `RunFinished` if the run is over.

    Whatever happens (an error, a cancel, a consumer that stops reading at `ToolCallReady`), the
    history ends with every call of the turn answered before this generator is left.
    """
    run = state.input
    results: dict[str, ToolResult] = {}
    reply_at = len(state.messages)
    approvals = await decide(state, verdict.calls)
    results.update(approvals.denied)
    waiting = {c.id for c in approvals.pending}
    to_run = [c for c in verdict.calls if c.id not in results and c.id not in waiting]
    done = started = False

    async def record(landed: dict[str, ToolResult]) -> None:
        results.update(landed)
        _set_reply(state, reply_at, verdict.reply(results))
        await run.journal.save(state.messages)

    try:
        for call in verdict.calls:
            yield call
        if to_run:
            await run.journal.save(state.messages)  # the calls are on record before any of them runs
            await run.journal.started([c.id for c in to_run])
            started = True
            await run_tools(state, to_run, tel, record)
        _set_reply(state, reply_at, verdict.reply(results))
        await run.journal.save(state.messages)
        done = True
    finally:
        if not done:  # cancelled, failed or abandoned: answer what did not run, keep what did
            for call in verdict.calls:
                if call.id not in results and call.id not in waiting:
                    results[call.id] = ToolResult(CANCELLED if started else NOT_RUN, is_error=True)
            _set_reply(state, reply_at, verdict.reply(results))
            with anyio.CancelScope(shield=True):
                await run.journal.save(state.messages)
    for call in verdict.calls:
        if call.id in results:
            result = results[call.id]
            yield ToolCallFinished(call.id, call.name, result.content, result.is_error)
    if approvals.pending:
        yield RunFinished(_result(state, None, "approval_required", response, pending=approvals.pending))
        return
    verdict.count_attempt(state)
    if verdict.final:
        yield RunFinished(_result(state, verdict.output, (response and response.stop_reason) or "end_turn", response))


def _set_reply(state: RunState, at: int, reply: MessageParam | None) -> None:
    """Put the turn's (partial) reply at index `at` of the history, replacing an earlier version."""
    messages = state.messages
    if reply is None:
        del messages[at:]
    elif len(messages) > at:
        messages[at] = reply
    else:
        messages.append(reply)


def _result(
    state: RunState,
    output: Any,
    stop: str,
    response: Message | None,
    *,
    pending: list[ToolCallReady] | None = None,
) -> RunResult[Any]:
    messages = state.messages
    if isinstance(messages, History):  # for the next run on `history=result.messages`
        remember_checked(messages)  # valid as the run leaves it
        messages.anchor = state.counter.carried()
    return RunResult(
        output,
        state.messages,
        state.usage,
        stop,
        state.turn,
        response,
        state.run_id,
        "\n\n".join(t for t in state.thoughts if t),
        state.counter.stats(state.dropped),
        pending_approvals=list(pending or ()),
        paced_seconds=state.paced_seconds,
    )


def _finished(state: RunState) -> RunResult[Any] | None:
    """The result of a saved run that already ended: its last answer, with no request."""
    messages = state.messages
    if not messages:
        return None
    last = messages[-1]
    output = state.input.output
    content = last.get("content")
    blocks = content if isinstance(content, list) else [{"type": "text", "text": content}]
    if last["role"] == "assistant":
        if any(b.get("type") == "tool_use" for b in blocks) or (output is not None and output.mode == "tool"):
            return None
        text = "".join(str(b.get("text", "")) for b in blocks if b.get("type") == "text")
        if output is None:
            return _result(state, text, "end_turn", None)
        try:
            return _result(state, output.validate(text), "end_turn", None)
        except ValueError:  # pydantic's ValidationError: the saved answer was not valid; ask again
            return None
    if output is None or output.mode != "tool" or len(messages) < 2:
        return None
    from ..output import OUTPUT_TOOL

    previous: Any = messages[-2].get("content") or ()
    calls = [b for b in previous if isinstance(b, dict) and b.get("type") == "tool_use"]
    answer = next((c for c in calls if c.get("name") == OUTPUT_TOOL), None)
    answered = [
        b for b in blocks if b.get("type") == "tool_result" and b.get("tool_use_id") == (answer or {}).get("id")
    ]
    if answer is None or not answered or answered[0].get("is_error"):
        return None
    return _result(state, output.validate(answer.get("input") or {}), "end_turn", None)


async def _open_calls(state: RunState) -> Verdict | None:
    """What a saved history left open: the tool calls of its last model turn that have no result.

    A call that a crash cut off mid-run is run again only if its tool is idempotent; otherwise it
    is answered as possibly run. A call that never started (approval pending) is decided now.
    """
    messages = state.messages
    at = len(messages) - 1
    if messages[at]["role"] == "user":
        at -= 1
    if at < 0 or messages[at]["role"] != "assistant":
        return None
    content = messages[at].get("content")
    blocks = content if isinstance(content, list) else []
    calls = tool_calls([_Block(b) for b in blocks if isinstance(b, dict)])
    if not calls:
        return None
    answered: dict[str, ToolResult] = {}
    if at + 1 < len(messages):
        reply: Any = messages[at + 1].get("content") or ()
        for block in reply:
            if isinstance(block, dict) and block.get("type") == "tool_result":
                answered[block["tool_use_id"]] = ToolResult(block.get("content", ""), bool(block.get("is_error")))
    started = await state.input.journal.unfinished()
    to_run: list[ToolCallReady] = []
    for call in calls:
        if call.id in answered:
            continue
        tool = state.tools.get(call.name)
        maybe_started = call.id in started if started is not None else not _awaits_approval(state, call)
        if maybe_started and not (tool is not None and tool.idempotent):
            answered[call.id] = ToolResult(MAY_HAVE_RUN, is_error=True)
        else:
            to_run.append(call)
    del messages[at + 1 :]
    return Verdict(calls=to_run, answered=answered, every_call=calls)


def _awaits_approval(state: RunState, call: ToolCallReady) -> bool:
    tool = state.tools.get(call.name)
    policy = state.settings.approval
    return (tool is not None and tool.needs_approval(call.input)) or (policy is not None and bool(policy(call)))


class _Block:
    """A saved `tool_use` dict read like the SDK's block, for `tool_calls`."""

    def __init__(self, block: dict[str, Any]) -> None:
        self.type = block.get("type")
        self.id, self.name, self.input = block.get("id"), block.get("name"), block.get("input") or {}


def _with_history(exc: RunError, state: RunState) -> None:
    if exc.usage is not None:
        state.usage.add(exc.usage)
    exc.messages, exc.usage = list(state.messages), state.usage


def _stopped(response: Message, state: RunState) -> RunError:
    """The error for a response the loop cannot go on from; the history leaves that response out."""
    kept = list(state.messages)
    if response.stop_reason == "refusal":
        details = response.stop_details
        return Refused(
            f"The model refused to answer: {details}", stop_details=details, messages=kept, usage=state.usage
        )
    return ContextWindowExceeded(
        "The conversation exceeds the model's context window; shorten the history or set a memory budget",
        messages=kept,
        usage=state.usage,
    )


__all__ = ["run_events", "text_of"]
