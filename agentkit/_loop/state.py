"""The run's input (`RunInput`, fixed) and its state (`RunState`, what the loop changes).

One named place for everything a run carries from turn to turn, so each phase of the loop
takes the state it needs instead of a dozen loose locals.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..usage import Usage
from .tokens import TokenCounter
from .trim import is_prompt

if TYPE_CHECKING:
    import anthropic
    from anthropic.types import MessageParam

    from ..agent import Agent
    from ..hooks import Approval, RunHooks
    from ..output import OutputAttempt, OutputSpec
    from ..run import Journal
    from ..settings import AgentSettings
    from ..tools import Tool


@dataclass(frozen=True)
class RunInput:
    """Everything one run needs, chosen in run setup (`agentkit.run.open_run`).

    `messages` is the history with the new prompt; the loop appends to it, so it is the run's
    history at every moment. `journal` records progress (a session, or nothing).
    """

    agent: Agent[Any]
    settings: AgentSettings
    client: anthropic.AsyncAnthropic
    messages: list[MessageParam]
    variables: dict[str, Any]
    deps: Any
    output: OutputSpec[Any] | None
    journal: Journal
    stream: bool = False
    conversation_id: str | None = None
    hooks: RunHooks | None = None
    approvals: dict[str, Approval] = field(default_factory=dict)
    resuming: bool = False


@dataclass
class RunState:
    """What one run has done so far; the loop's phases read and update it."""

    input: RunInput
    system: str | None
    tools: dict[str, Tool]
    counter: TokenCounter
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    usage: Usage = field(default_factory=Usage)
    turn: int = 0
    turn_start: int = 0
    """The index of this run's prompt in the history: trimming keeps the run's own turns."""
    dropped: int = 0
    """Messages the memory strategy left out of the last request."""
    attempts: list[OutputAttempt] = field(default_factory=list)
    thoughts: list[str] = field(default_factory=list)
    paced_seconds: float = 0.0

    @property
    def messages(self) -> list[MessageParam]:
        return self.input.messages

    @property
    def settings(self) -> AgentSettings:
        return self.input.settings

    @classmethod
    def start(cls, run: RunInput, system: str | None, tools: dict[str, Tool], counter: TokenCounter) -> RunState:
        messages = run.messages  # the last prompt, found from the end (a long history is not walked)
        turn_start = next((i for i in range(len(messages) - 1, -1, -1) if is_prompt(messages[i])), 0)
        state = cls(input=run, system=system, tools=tools, counter=counter, turn_start=turn_start)
        if run.hooks is not None and run.hooks.run_id:
            state.run_id = run.hooks.run_id
        return state
