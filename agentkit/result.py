"""What a run gives back: the `RunResult`, and the events a streamed run yields on the way."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeAlias, TypeVar

from .usage import Usage

if TYPE_CHECKING:
    from anthropic.types import Message, MessageParam

OutputT = TypeVar("OutputT")


@dataclass(frozen=True)
class ContextStats:
    """What the token accounting saw over a run."""

    context_tokens: int
    """The exact size of the last prompt sent: input + cache read + cache write tokens."""
    peak_context_tokens: int
    """The largest prompt of the run, in tokens."""
    count_tokens_calls: int
    """How often the estimate was too close to the budget and `count_tokens` decided."""
    dropped_messages: int = 0
    """Messages of the history left out of the last request by the memory strategy."""


@dataclass
class RunResult(Generic[OutputT]):
    """The outcome of one run.

    Args:
        output: The final text, or the validated object when the agent has an output type
            (None while `pending_approvals` wait).
        messages: The whole conversation as Messages API params, the new turns included: pass
            it as `history=` to go on.
        usage: Tokens and requests of the run, continuations and sub-agents included.
        stop_reason: The last response's stop reason (`"approval_required"` while calls wait).
        turns: Model turns the run took.
        response: The last response, as the SDK's `Message`.
        run_id: The run's id (in logs and spans).
        thinking: The model's visible thinking over the run, in order.
        context: The prompt sizes the run saw and what memory left out.
        trace_id: The run's trace id; None when no tracer is configured.
        pending_approvals: Tool calls waiting for a decision; `Agent.resume(session=...,
            approvals={id: True | False | "reason"})` goes on.
        paced_seconds: Time the run's requests waited on the rate-limit pacer.
    """

    output: OutputT
    messages: list[MessageParam]
    usage: Usage
    stop_reason: str
    turns: int
    response: Message | None
    run_id: str
    thinking: str = ""
    context: ContextStats | None = None
    trace_id: str | None = None
    pending_approvals: list[ToolCallReady] = field(default_factory=list)
    paced_seconds: float = 0.0

    def __repr__(self) -> str:
        return (
            f"RunResult(output={self.output!r:.80}, stop_reason={self.stop_reason!r}, "
            f"turns={self.turns}, messages={len(self.messages)}, usage={self.usage})"
        )


@dataclass(frozen=True)
class TextDelta:
    """Answer text as it arrives. Joined, the deltas of a turn are its text."""

    text: str


@dataclass(frozen=True)
class ThinkingDelta:
    """Thinking text as it arrives."""

    thinking: str


@dataclass(frozen=True)
class ToolCallStarted:
    """The model began a tool call; its input is still arriving."""

    id: str
    name: str


@dataclass(frozen=True)
class ToolCallReady:
    """A tool call is complete and about to run."""

    id: str
    name: str
    input: dict[str, Any]


@dataclass(frozen=True)
class ToolCallFinished:
    """A tool finished; `content` goes back to the model as its `tool_result`."""

    id: str
    name: str
    content: str | list[dict[str, Any]]
    is_error: bool


@dataclass(frozen=True)
class ModelCallStarted:
    """A model call begins: the turn's first, or a continuation of a cut answer (`continuation` > 0).

    A consumer rebuilding the text keeps what each call streamed, and on `Retrying` drops only
    what was streamed since the last `ModelCallStarted`.
    """

    turn: int
    continuation: int = 0


@dataclass(frozen=True)
class Retrying:
    """The current model call is being redone: drop what it streamed since its `ModelCallStarted`."""

    reason: str


@dataclass(frozen=True)
class TurnFinished:
    """The model finished one turn (continuations included); `usage` is that turn's."""

    turn: int
    response: Message
    usage: Usage


@dataclass(frozen=True)
class RunFinished:
    """The run is over; `result` is what `Agent.run` returns."""

    result: RunResult[Any]


StreamDelta: TypeAlias = TextDelta | ThinkingDelta | ToolCallStarted
"""What a single model call yields while it streams."""

RunEvent: TypeAlias = (
    ModelCallStarted
    | TextDelta
    | ThinkingDelta
    | ToolCallStarted
    | Retrying
    | ToolCallReady
    | ToolCallFinished
    | TurnFinished
    | RunFinished
)
"""Everything a run yields, in order; the last event is `RunFinished`."""


class RunStream:
    """A run in progress, as an async iterator of `RunEvent`s; `result` is set when it finishes."""

    def __init__(self, events: AsyncGenerator[RunEvent, None], messages: list[MessageParam]) -> None:
        self._events = events
        self.messages = messages  # the history so far; valid to send once the stream is left or finished
        self.result: RunResult[Any] | None = None

    def __aiter__(self) -> RunStream:
        return self

    async def __anext__(self) -> RunEvent:
        event = await self._events.__anext__()
        if isinstance(event, RunFinished):
            self.result = event.result
        return event

    async def get_result(self) -> RunResult[Any]:
        """Consume the rest of the run and return its result."""
        async for _ in self:
            pass
        assert self.result is not None
        return self.result
