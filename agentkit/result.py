"""What a run gives back: the `RunResult`, and the events the run loop yields on the way."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeAlias, TypeVar

from .usage import Usage

if TYPE_CHECKING:
    from anthropic.types import Message, MessageParam

OutputT = TypeVar("OutputT")


@dataclass
class RunResult(Generic[OutputT]):
    """The outcome of one run.

    `messages` is the whole conversation as Messages API params, the new turns included: pass it
    as `history=` to go on, or send it again as it is.
    """

    output: OutputT
    messages: list[MessageParam]
    usage: Usage
    stop_reason: str
    turns: int
    response: Message
    run_id: str

    def __repr__(self) -> str:
        return (
            f"RunResult(output={self.output!r:.80}, stop_reason={self.stop_reason!r}, "
            f"turns={self.turns}, messages={len(self.messages)}, usage={self.usage})"
        )


@dataclass(frozen=True)
class ModelResponse:
    """The model answered one turn."""

    turn: int
    response: Message
    usage: Usage


@dataclass(frozen=True)
class ToolCall:
    """The model asked for a tool; it is about to run."""

    id: str
    name: str
    input: dict[str, Any]


@dataclass(frozen=True)
class ToolReturn:
    """A tool finished; `content` goes back to the model as its `tool_result`."""

    id: str
    name: str
    content: str | list[dict[str, Any]]
    is_error: bool


@dataclass(frozen=True)
class RunFinished:
    """The run is over; `result` is what `Agent.run` returns."""

    result: RunResult[Any]


RunEvent: TypeAlias = ModelResponse | ToolCall | ToolReturn | RunFinished
"""Everything the run loop yields, in order."""
