"""Phase 3 of a turn: judge it. Go on with tools, ask again, or finish.

Without an output type, a turn without tool calls is the final answer (its text). With one, the
answer is the output tool's input (tool mode) or the JSON text (native mode), validated into the
type; a failure goes back to the model with the field errors, and counts as an attempt.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from pydantic import ValidationError

from ..errors import OutputValidationError
from ..output import OUTPUT_TOOL, OutputAttempt, OutputSpec
from ..result import ToolCallReady
from ..tools import ToolResult

if TYPE_CHECKING:
    from anthropic.types import Message, MessageParam

    from .state import RunState

_NOT_RUN = "Not run: the final answer was already given in this turn."


@dataclass
class Verdict:
    """What the loop does after a turn.

    `calls` are the agent's tools to run. `answered` are tool results the loop must send without
    running anything (the output tool's verdict). `feedback` is user text to add after them.
    `final` is set when the run is over, with `output` its value. `every_call` is each tool call
    of the response, in order: the reply answers all of them.
    """

    calls: list[ToolCallReady] = field(default_factory=list)
    answered: dict[str, ToolResult] = field(default_factory=dict)
    feedback: str = ""
    final: bool = False
    output: Any = None
    attempt: OutputAttempt | None = None
    every_call: list[ToolCallReady] = field(default_factory=list)

    def reply(self, results: Mapping[str, ToolResult]) -> MessageParam | None:
        """One user turn answering every tool call of the response, in order, then any feedback.

        `results` are the results of `calls` so far; a call with none yet is left out, so the
        reply of a turn whose tools are still running holds what has landed.
        """
        found = {**results, **self.answered}
        blocks: list[dict[str, Any]] = [found[c.id].to_block(c.id) for c in self.every_call if c.id in found]
        if self.feedback:
            blocks.append({"type": "text", "text": self.feedback})
        return cast("MessageParam", {"role": "user", "content": blocks}) if blocks else None

    def count_attempt(self, state: RunState) -> None:
        """Record a failed answer; past `output_retries` of them the run ends with the error."""
        if self.attempt is None:
            return
        state.attempts.append(self.attempt)
        if len(state.attempts) > state.settings.output_retries:
            output = state.input.output
            raise OutputValidationError(
                f"The answer did not match {output.output_type if output else None!r} after "
                f"{len(state.attempts)} attempts; last errors:\n{self.attempt.errors}",
                attempts=state.attempts,
                messages=state.messages,
                usage=state.usage,
            )


def judge(response: Message, output: OutputSpec[Any] | None) -> Verdict:
    """The verdict on one complete turn."""
    calls = tool_calls(response.content)
    verdict = _judge(response, calls, output)
    verdict.every_call = calls
    return verdict


def tool_calls(content: Sequence[Any]) -> list[ToolCallReady]:
    """The client-side tool calls in a response (server tools run on the API's side)."""
    return [ToolCallReady(id=b.id, name=b.name, input=b.input) for b in content if b.type == "tool_use"]


def _judge(response: Message, calls: Sequence[ToolCallReady], output: OutputSpec[Any] | None) -> Verdict:
    if output is None:
        if calls:
            return Verdict(calls=list(calls))
        if _resend(response):
            return Verdict()
        return Verdict(final=True, output=text_of(response))
    if output.mode == "native":
        return _judge_native(response, calls, output)
    return _judge_tool(response, calls, output)


def _resend(response: Message) -> bool:
    """The server paused its turn (a long server tool, or a compaction): send the history back."""
    return response.stop_reason in ("pause_turn", "compaction")


def text_of(response: Message) -> str:
    """The answer's text: every text block of the response, joined."""
    return "".join(block.text for block in response.content if block.type == "text")


def thinking_of(response: Message) -> str:
    return "\n\n".join(block.thinking for block in response.content if block.type == "thinking")


def _judge_tool(response: Message, calls: Sequence[ToolCallReady], output: OutputSpec[Any]) -> Verdict:
    answer = next((c for c in calls if c.name == OUTPUT_TOOL), None)
    others = [c for c in calls if c.name != OUTPUT_TOOL]
    if answer is None:
        if others or _resend(response):
            return Verdict(calls=others)
        text = text_of(response)
        hint = f"Give your final answer by calling the `{OUTPUT_TOOL}` tool, not as text."
        return Verdict(feedback=hint, attempt=OutputAttempt(text, hint))
    try:
        value = output.validate(answer.input)
    except ValidationError as exc:
        errors = output.explain(exc)
        result = ToolResult(f"Invalid answer:\n{errors}\nFix these and call `{OUTPUT_TOOL}` again.", is_error=True)
        return Verdict(calls=others, answered={answer.id: result}, attempt=OutputAttempt(answer.input, errors))
    skipped = {c.id: ToolResult(_NOT_RUN) for c in others}
    return Verdict(answered={answer.id: ToolResult("Answer received."), **skipped}, final=True, output=value)


def _judge_native(response: Message, calls: Sequence[ToolCallReady], output: OutputSpec[Any]) -> Verdict:
    if calls or _resend(response):
        return Verdict(calls=list(calls))
    text = text_of(response)
    try:
        return Verdict(final=True, output=output.validate(text))
    except ValidationError as exc:
        errors = output.explain(exc)
        hint = f"Your answer did not match the required JSON schema:\n{errors}\nAnswer again with corrected JSON."
        return Verdict(feedback=hint, attempt=OutputAttempt(text, errors))
