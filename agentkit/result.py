"""What a run gives back: the `RunResult`, and the events a streamed run yields on the way."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeAlias, TypeVar

from .usage import Usage

if TYPE_CHECKING:
    from anthropic.types import Message, MessageParam

    from ._pipeline.tokens import ContextStats

OutputT = TypeVar("OutputT")


@dataclass
class RunResult(Generic[OutputT]):
    """The outcome of one run.

    `messages` is the whole conversation as Messages API params, the new turns included: pass it
    as `history=` to go on. `output` is the final text, or the validated object when the agent has
    an output type. `thinking` is the model's visible thinking over the run, in order.
    """

    output: OutputT
    messages: list[MessageParam]
    usage: Usage
    stop_reason: str
    turns: int
    response: Message
    run_id: str
    thinking: str = ""
    context: ContextStats | None = None
    """The prompt sizes the run saw and what memory left out (`context_tokens`, `count_tokens_calls`...)."""
    trace_id: str | None = None
    """The run's trace id, to find it in a tracing backend; None when no tracer is configured."""

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
class Retrying:
    """The current model call is being redone; drop what was streamed of it since its start."""

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
    TextDelta
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
        self.messages = messages  # the run's history so far, valid to send at every moment
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
