"""Memory strategies: how the history is fitted to `memory_budget` before each request.

Two kinds, one base class (`MemoryStrategy`) with defaults for both:
- history strategies trim locally: `plan` is pure (the history in, the messages to send out); the
  one that needs a model call, `Summarize`, says so in the plan (`job`), and the run loop awaits
  `complete(client, job)` once and plans again;
- server strategies (`trims = False`) leave the history whole and add request params
  (`server_params`) that make the API edit the context itself, through the beta messages API
  (`betas`). They are checked when the agent is built (`check`).
Nothing here imports the SDK.

Pick by name (`Agent(memory="summarize")`) or pass an instance to tune it. The building blocks
the strategies and the loop use are public here too, to use on a history of your own: `trim`
(whole turns out, never a broken pair), `TokenCounter` (the run's token accounting) and
`place_breakpoints` / `count_breakpoints` (cache markers).
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from ._loop.cache import count_breakpoints, place_breakpoints
from ._loop.tokens import TokenCounter
from ._loop.trim import DEFAULT_LOW_WATERMARK, trim
from .errors import ConfigurationError

if TYPE_CHECKING:
    import anthropic
    from anthropic.types import Message, MessageParam

    from ._loop.sizing import Measure
    from .settings import Pinned

__all__ = [
    "DEFAULT_LOW_WATERMARK",
    "ClearToolResults",
    "DropOldest",
    "Fit",
    "MemoryPlan",
    "MemoryStrategy",
    "ServerCompaction",
    "Summarize",
    "SummaryJob",
    "TokenCounter",
    "count_breakpoints",
    "place_breakpoints",
    "resolve_memory",
    "trim",
]

_LOW_WATERMARK = DEFAULT_LOW_WATERMARK


@dataclass(frozen=True)
class Fit:
    """What one request's trimming needs: the budget, the rest of the prompt, and how to measure."""

    budget: int
    overhead: int
    """The estimate of the system prompt and tools, in tokens."""
    measure: Measure
    keep_first: bool = False
    pinned: Pinned = None
    turn_start: int | None = None
    """The index of the current run's prompt in the history."""


@dataclass(frozen=True)
class SummaryJob:
    """The model call a `Summarize` plan is waiting for: fold `messages` into `previous`."""

    key: str
    previous: str | None
    messages: tuple[MessageParam, ...]


@dataclass(frozen=True)
class MemoryPlan:
    """The messages to send (the history itself when nothing is left out)."""

    messages: list[MessageParam]
    tokens: int
    dropped_messages: int = 0
    job: SummaryJob | None = None
    """Set when the plan needs a model call first: await `strategy.complete(client, job)`, plan again."""


class MemoryStrategy:
    """How the history is kept under the budget; subclass it (see the module docstring).

    A history strategy overrides `plan` (pure) and, if it needs a model call, `complete`. A
    server strategy sets `trims = False` and overrides `server_params` (and `check`).
    """

    trims: ClassVar[bool] = True
    """Whether `plan` trims the history locally (False: the server edits the context)."""
    betas: tuple[str, ...] = ()
    """Beta headers the strategy's requests need (sent through `client.beta.messages`)."""

    def plan(self, messages: Sequence[MessageParam], fit: Fit) -> MemoryPlan:
        """The messages to send for `fit.budget`: by default, all of them."""
        return MemoryPlan(list(messages), 0)

    async def complete(self, client: anthropic.AsyncAnthropic, job: SummaryJob) -> Message | None:
        """Carry out the model call a plan asked for (`MemoryPlan.job`)."""
        return None

    def server_params(self, budget: int | None) -> dict[str, Any]:
        """Request fields that make the API manage the context (server strategies)."""
        return {}

    def check(self, budget: int | None) -> None:
        """Raise `ConfigurationError` if the strategy cannot work with `budget`."""


@dataclass(frozen=True)
class DropOldest(MemoryStrategy):
    """Leave out the oldest whole turns (then the oldest exchanges of the current one), in chunks."""

    low_watermark: float = _LOW_WATERMARK
    betas: tuple[str, ...] = ()

    def plan(self, messages: Sequence[MessageParam], fit: Fit) -> MemoryPlan:
        trimmed = trim(
            messages,
            budget=fit.budget,
            overhead=fit.overhead,
            measure=fit.measure,
            low_watermark=self.low_watermark,
            keep_first=fit.keep_first,
            pinned=fit.pinned,
            turn_start=fit.turn_start,
        )
        return MemoryPlan(trimmed.messages, trimmed.tokens, trimmed.dropped_messages)


_INSTRUCTIONS = (
    "You maintain the running summary of a conversation between a user and an AI assistant that uses "
    "tools. Older parts of the conversation are removed to save space; your summary replaces them. Keep "
    "what later turns may need: the user's goals, constraints and preferences, decisions made, facts and "
    "figures found with tools (with the tool names), open questions and unfinished work. Drop pleasantries "
    "and anything superseded. Write plain prose or terse bullet points, no preamble."
)
_RESULT_CHARS = 2_000  # of each tool result, in the transcript the summarizer reads


@dataclass
class Summarize(MemoryStrategy):
    """Replace the left-out turns with a summary written by a cheap model, extended as more go.

    Cuts fall where `DropOldest`'s do, so the summary changes only when a cut moves: between cuts
    the prompt starts with the same summary and stays cached. Summaries are kept (by the content of
    what they cover, the last `keep` of them) across requests and runs of the same agent, so
    resuming a conversation does not summarize it again; a new cut summarizes only what it adds.
    """

    model: str = "claude-haiku-4-5"
    max_tokens: int = 1024
    """The summary's length limit; reserved in the budget."""
    low_watermark: float = _LOW_WATERMARK
    instructions: str = _INSTRUCTIONS
    keep: int = 32
    betas: tuple[str, ...] = ()
    _summaries: OrderedDict[str, tuple[str, MessageParam]] = field(default_factory=OrderedDict, repr=False)
    _digests: dict[int, tuple[Any, str]] = field(default_factory=dict, repr=False)
    calls: int = 0

    def plan(self, messages: Sequence[MessageParam], fit: Fit) -> MemoryPlan:
        trimmed = trim(
            messages,
            budget=fit.budget,
            overhead=fit.overhead + self.max_tokens,
            measure=fit.measure,
            low_watermark=self.low_watermark,
            keep_first=fit.keep_first,
            pinned=fit.pinned,
            turn_start=fit.turn_start,
        )
        if not trimmed.dropped:
            return MemoryPlan(trimmed.messages, trimmed.tokens)
        dropped = [m for start, stop in trimmed.dropped for m in messages[start:stop]]
        keys = self._chain(dropped)
        stored = self._summaries.get(keys[-1])
        if stored is None:
            done = next((n for n in range(len(keys) - 2, -1, -1) if keys[n] in self._summaries), -1)
            previous = self._summaries[keys[done]][0] if done >= 0 else None
            job = SummaryJob(keys[-1], previous, tuple(dropped[done + 1 :]))
            return MemoryPlan(trimmed.messages, trimmed.tokens, len(dropped), job)
        at = trimmed.dropped[0][0]  # everything before the first left-out unit is kept
        kept = [*trimmed.messages[:at], stored[1], *trimmed.messages[at:]]
        return MemoryPlan(kept, trimmed.tokens, len(dropped))

    async def complete(self, client: anthropic.AsyncAnthropic, job: SummaryJob) -> Message:
        """Ask `model` for the summary of `job` and keep it."""
        transcript = _transcript(job.messages)
        if job.previous:
            transcript = f"<summary_so_far>\n{job.previous}\n</summary_so_far>\n\n{transcript}"
        response = await client.messages.create(
            model=self.model,
            max_tokens=self.max_tokens,
            system=self.instructions,
            messages=[{"role": "user", "content": transcript + "\n\nWrite the updated summary."}],
        )
        text = "".join(getattr(b, "text", "") for b in response.content).strip() or "(nothing to keep)"
        note: MessageParam = {"role": "user", "content": _summary_text(text)}
        self._summaries[job.key] = (text, note)
        while len(self._summaries) > self.keep:
            self._summaries.popitem(last=False)
        self.calls += 1
        return response

    def _chain(self, messages: Sequence[Mapping[str, Any]]) -> list[str]:
        """A digest of each prefix of `messages` (each message digested once, by identity)."""
        chain, keys = hashlib.sha256(), []
        for message in messages:
            entry = self._digests.get(id(message))
            if entry is None or entry[0] is not message:
                digest = hashlib.sha256(json.dumps(message, sort_keys=True, default=str).encode()).hexdigest()
                entry = (message, digest)
                if len(self._digests) > 4 * len(messages) + 1024:
                    self._digests.clear()
                self._digests[id(message)] = entry
            chain.update(entry[1].encode())
            keys.append(chain.hexdigest())
        return keys


def _summary_text(summary: str) -> str:
    return f"<earlier_conversation_summary>\n{summary}\n</earlier_conversation_summary>"


def _transcript(messages: Sequence[Mapping[str, Any]]) -> str:
    """The messages as plain text for the summarizer: thinking left out, tool results shortened."""
    lines: list[str] = []
    for message in messages:
        role = "User" if message.get("role") == "user" else "Assistant"
        content = message.get("content")
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content or []
        for block in blocks:
            kind = block.get("type")
            if kind == "text":
                lines.append(f"{role}: {block.get('text', '')}")
            elif kind == "tool_use":
                lines.append(f"{role} called {block.get('name')}({json.dumps(block.get('input'))[:_RESULT_CHARS]})")
            elif kind == "tool_result":
                lines.append(f"Tool result{' (error)' if block.get('is_error') else ''}: {_result_text(block)}")
            elif kind not in ("thinking", "redacted_thinking"):
                lines.append(f"{role}: [{kind}]")
    return "\n".join(lines)


def _result_text(block: Mapping[str, Any]) -> str:
    content = block.get("content")
    if isinstance(content, list):
        content = " ".join(b.get("text", f"[{b.get('type')}]") for b in content)
    text = str(content or "")
    return text if len(text) <= _RESULT_CHARS else text[:_RESULT_CHARS] + " [...]"


_MIN_COMPACTION_TRIGGER = 50_000


@dataclass(frozen=True)
class ServerCompaction(MemoryStrategy):
    """Let the API summarize older context itself when the prompt passes `trigger` input tokens.

    Sends `context_management={"edits": [{"type": "compact_20260112", ...}]}` with the beta header
    `compact-2026-01-12` (through `client.beta.messages.create`). The response then carries a
    `compaction` block that must go back unmodified in the assistant message; the API ignores what
    precedes it. `trigger` defaults to `memory_budget`, else the API's own default (150,000); the
    API takes nothing under 50,000. Supported models: Opus 4.6/4.7, Sonnet 4.6, Mythos (docs).
    """

    trigger: int | None = None
    instructions: str | None = None
    pause_after_compaction: bool = False
    betas: tuple[str, ...] = ("compact-2026-01-12",)
    trims: ClassVar[bool] = False

    def __post_init__(self) -> None:
        if self.trigger is not None:
            self.check(self.trigger)

    def check(self, budget: int | None) -> None:
        trigger = self.trigger or budget
        if trigger is not None and trigger < _MIN_COMPACTION_TRIGGER:
            raise ConfigurationError(
                f"server compaction triggers at {trigger} input tokens, but the API takes no trigger under "
                f"{_MIN_COMPACTION_TRIGGER}; raise memory_budget or use memory='drop_oldest'"
            )

    def server_params(self, budget: int | None) -> dict[str, Any]:
        trigger = self.trigger or budget
        edit: dict[str, Any] = {"type": "compact_20260112"}
        if trigger is not None:
            edit["trigger"] = {"type": "input_tokens", "value": trigger}
        if self.instructions:
            edit["instructions"] = self.instructions
        if self.pause_after_compaction:
            edit["pause_after_compaction"] = True
        return {"context_management": {"edits": [edit]}}


@dataclass(frozen=True)
class ClearToolResults(MemoryStrategy):
    """Let the API replace the oldest tool results with a placeholder past `trigger` input tokens.

    Sends `context_management={"edits": [{"type": "clear_tool_uses_20250919", ...}]}` with the beta
    header `context-management-2025-06-27`. Each clearing invalidates the cached prefix from the
    first cleared result on; `clear_at_least` makes clearings rarer and larger, as chunked trimming does.
    """

    trigger: int | None = None
    keep: int = 3
    clear_at_least: int | None = None
    exclude_tools: tuple[str, ...] = ()
    clear_tool_inputs: bool = False
    betas: tuple[str, ...] = ("context-management-2025-06-27",)
    trims: ClassVar[bool] = False

    def server_params(self, budget: int | None) -> dict[str, Any]:
        edit: dict[str, Any] = {"type": "clear_tool_uses_20250919", "keep": {"type": "tool_uses", "value": self.keep}}
        trigger = self.trigger or budget
        if trigger is not None:
            edit["trigger"] = {"type": "input_tokens", "value": trigger}
        if self.clear_at_least is not None:
            edit["clear_at_least"] = {"type": "input_tokens", "value": self.clear_at_least}
        if self.exclude_tools:
            edit["exclude_tools"] = list(self.exclude_tools)
        if self.clear_tool_inputs:
            edit["clear_tool_inputs"] = True
        return {"context_management": {"edits": [edit]}}


_NAMED = {
    "drop_oldest": DropOldest,
    "summarize": Summarize,
    "server": ServerCompaction,
    "compact": ServerCompaction,
    "clear_tool_results": ClearToolResults,
}


def resolve_memory(memory: str | MemoryStrategy, budget: int | None = None) -> MemoryStrategy:
    """The strategy for `Agent(memory=...)`: a name, or a strategy instance (kept as it is), checked
    against `budget`."""
    if isinstance(memory, str):
        factory = _NAMED.get(memory)
        if factory is None:
            raise ConfigurationError(f"memory={memory!r} is not a strategy; use one of {', '.join(sorted(_NAMED))}")
        strategy: MemoryStrategy = factory()
    elif isinstance(memory, MemoryStrategy):
        strategy = memory
    else:
        raise ConfigurationError(
            f"memory={memory!r} is neither a strategy name nor a MemoryStrategy; "
            "subclass agentkit.memory.MemoryStrategy"
        )
    strategy.check(budget)
    return strategy
