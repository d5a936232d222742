"""A finished run's outcome as JSON and back, so a resumed job returns the runs it had finished.

A `RunResult` keeps its output (validated again into the agent's output type when read back),
messages, usage, stop reason, turns and final response; an error keeps its class (an agentkit
error class, else `RunError`), message, history and the attributes its class adds.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from pydantic_core import to_jsonable_python

from .. import errors
from ..usage import Usage

if TYPE_CHECKING:
    from ..agent import Agent

__all__ = ["dump_outcome", "load_outcome"]

_EXTRA = ("status_code", "request_id", "error_type", "partial_output", "budget", "required")


def dump_outcome(outcome: Any) -> dict[str, Any]:
    """A `RunResult` or an exception as JSON-able data."""
    if isinstance(outcome, BaseException):
        usage = getattr(outcome, "usage", None)
        data: dict[str, Any] = {
            "error": type(outcome).__name__,
            "message": str(outcome),
            "messages": getattr(outcome, "messages", None) or [],
            "usage": dataclasses.asdict(usage) if isinstance(usage, Usage) else None,
            **{name: getattr(outcome, name) for name in _EXTRA if hasattr(outcome, name)},
        }
        return to_jsonable_python(data, fallback=str)  # type: ignore[no-any-return]
    data = {
        "output": outcome.output,
        "messages": outcome.messages,
        "usage": dataclasses.asdict(outcome.usage),
        "stop_reason": outcome.stop_reason,
        "turns": outcome.turns,
        "response": outcome.response.to_dict(mode="json") if outcome.response is not None else None,
        "run_id": outcome.run_id,
        "thinking": outcome.thinking,
    }
    return to_jsonable_python(data, by_alias=True, fallback=str)  # type: ignore[no-any-return]


def load_outcome(data: dict[str, Any] | None, agent: Agent) -> Any:
    """The `RunResult` or exception `dump_outcome` saved."""
    from anthropic.types import Message

    from ..result import RunResult

    assert data is not None
    if "error" in data:
        cls = getattr(errors, str(data["error"]), None)
        if not (isinstance(cls, type) and issubclass(cls, errors.AgentkitError)):
            cls = errors.RunError
        error = cls.__new__(cls)
        Exception.__init__(error, data["message"])
        if isinstance(error, errors.RunError):
            error.messages = data.get("messages") or []
            error.usage = Usage(**data["usage"]) if data.get("usage") else None
        for name in _EXTRA:
            if name in data:
                setattr(error, name, data[name])
        return error
    output = data["output"]
    if agent.output_type is not None:
        from pydantic import TypeAdapter

        output = TypeAdapter(agent.output_type).validate_python(output)
    response = data.get("response")
    return RunResult(
        output=output,
        messages=data["messages"],
        usage=Usage(**data["usage"]),
        stop_reason=data["stop_reason"],
        turns=data["turns"],
        response=Message.model_validate(response) if response is not None else None,
        run_id=data["run_id"],
        thinking=data.get("thinking", ""),
    )
