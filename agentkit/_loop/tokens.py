"""Token accounting for one run: the API's exact figures as the anchor, local estimates for the rest.

No tokenizer ships for Claude. But each response's usage says exactly how big the prompt was that
produced it (`input_tokens + cache_read_input_tokens + cache_creation_input_tokens`), and the next
prompt is that one plus the reply and the tool results, minus whatever trimming left out. So the
`TokenCounter` keeps the last exact figure (the anchor), calibrates a cheap local estimate on it
(`scale`: tokens per local unit), counts the reply at its exact `output_tokens`, and estimates only
the difference. It asks `messages.count_tokens` only when an estimate is too close to the budget to
tell which side of it the prompt is on; with an anchor that is rare, because the uncertain part is
only what was added or left out since the last response.

Speed: each message's local size and kind (`agentkit._loop.sizing`) are computed once per message
object per run and memoised by `id()` in the run's own counter (the memo holds the message, so an id
cannot be reused while its entry lives, and the memo goes with the run). A request that is the
counted list grown costs only its new messages: its facts grow in place and the anchor
(`agentkit._loop.anchor`) tells it apart by length and last message. So a message edited in place
during the run, after it was sized, keeps its old facts: its size in the estimates, and whether it
carries a cache marker (breakpoint placement looks for the user's markers only in the messages
flagged so). Each run sizes afresh, so edits between runs (markers added to `result.messages`) are
seen. The API's limits are decided on exact counts near them. Calibration across runs lives in
`agentkit._loop._learned`; the exact count a resumed run starts from travels on `result.messages`
(`agentkit._history.History`).
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .._history import grown
from ..result import ContextStats
from ..usage import Usage
from .anchor import Anchor, moved
from .sizing import FRAMING_DOUBT, Facts, Measure, Sized, extend, facts, message_size, overhead_size

if TYPE_CHECKING:
    import anthropic

__all__ = ["UNCALIBRATED_ERROR", "ContextStats", "Estimate", "Measure", "TokenCounter"]

UNCALIBRATED_ERROR = 0.35
"""How far off a local estimate may be before any response calibrated it: models from 4.7 on count
about 30% more tokens than Haiku 4.5 for the same text, so a fixed chars-per-token guess can miss
by that much."""


class Estimate(int):
    """A prompt size in tokens that is an estimate; `error` is how far off it may be.

    `framing` is what it may miss besides, for a prompt estimated whole (no exact count of its
    history yet) at a scale learned on other prompts: the framing of its tool blocks, which that
    scale does not set (`FRAMING_DOUBT` each). A usage limit, a cap on spend, allows for it; the
    memory budget, a target for the context, does not: a miss of a few tokens there is not worth a
    `count_tokens` round trip on the first request of every run.
    """

    error: int
    framing: int

    def __new__(cls, tokens: int, error: int, framing: int = 0) -> Estimate:
        value = super().__new__(cls, tokens)
        value.error, value.framing = error, framing
        return value


class TokenCounter:
    """Token accounting for one run; also the `Measure` that trimming and caching use.

    `margin` is the relative error assumed for the locally estimated part of a prompt once a
    response has calibrated the estimate: a prompt is counted exactly when the budget lies within
    that error of the estimate. Before any calibration (no response yet, and none in this process
    for `model`), the whole estimate is taken as uncertain by `UNCALIBRATED_ERROR`. Each tool block
    in the estimated part adds its framing (`FRAMING_DOUBT`) to the doubt: that part of a block is a
    fixed guess the calibration does not scale (see `Estimate.framing` for a prompt estimated whole).
    """

    def __init__(self, *, model: str = "", margin: float = 0.1, key: tuple[str, str] | None = None) -> None:
        from ._learned import LEARNED

        if not 0 <= margin < 1:
            raise ValueError(f"margin must be in [0, 1), not {margin!r}")
        self.model, self.margin = model, margin
        self.key = key or ("", model)
        seed = LEARNED.scale(self.key)
        self.scale = seed or 1.0
        self._calibrated = seed is not None
        self._memo = Sized()
        self._tool_memo: dict[int, tuple[Any, int]] = {}  # id(tool definition) -> (definition, size)
        self._exact: tuple[Any, int] | None = None  # the reply since the anchor, and its output_tokens
        self._anchor: Anchor | None = None
        self._known: dict[int, tuple[Any, int, Any, Facts]] = {}  # id(list) -> (list, len, last item, facts)
        self._estimated: list[tuple[Mapping[str, Any], Estimate]] = []  # this request's params, estimated
        self.trim_layout: Any = None  # how trimming laid out the history last (`agentkit._loop.trim`)
        self.context_tokens = self.peak_context_tokens = self.count_tokens_calls = 0

    def facts(self, messages: Sequence[Mapping[str, Any]]) -> Facts:
        """The facts of `messages`; a list seen before and only appended to since is extended, not redone."""
        known = self._known.get(id(messages))
        n = len(messages)
        if known is not None and known[0] is messages and grown(messages, known[1], known[2]):
            result = known[3]
            if known[1] < n:
                shared = any(other[3] is result for key, other in self._known.items() if key != id(messages))
                more = facts(messages[known[1] :], self._memo, appended=True)
                result = extend(result, more, in_place=not shared)
        else:
            result = facts(messages, self._memo)
        self.remember(messages, result)
        if self._anchor is None:
            self._adopt(messages)
        return result

    def remember(self, messages: Sequence[Mapping[str, Any]], found: Facts) -> None:
        """Keep `found` as the facts of the list `messages` (trimming hands over its output's).

        The four lists used last are kept: the run's history, used on every request, must not give
        way to the trimmed copies each request makes (it would be sized again, message by message).
        """
        known = self._known
        if known.pop(id(messages), None) is None and len(known) >= 4:
            known.pop(next(iter(known)))
        known[id(messages)] = (messages, len(messages), messages[-1] if messages else None, found)

    def correction(self, messages: Sequence[Mapping[str, Any]]) -> int:
        if self._exact is None:
            return 0
        reply, exact = self._exact
        for message in messages[-3:]:
            if message is reply:
                return exact - round(self.scale * message_size(reply))
        return 0

    def local_overhead(self, params: Mapping[str, Any]) -> int:
        return overhead_size(params, self._tool_memo)

    def overhead(self, params: Mapping[str, Any]) -> int:
        """The estimate of the system prompt and tools of `params`, in tokens."""
        return round(overhead_size(params, self._tool_memo) * self.scale)

    def estimate(self, params: Mapping[str, Any]) -> Estimate:
        """The prompt size `params` would have, with the error it may carry.

        The last one is remembered until the next exact figure: a request is estimated for the
        usage limits, the cache minimum and the rate limits, and only the first time costs.
        """
        for known, found in self._estimated:
            if known is params:
                return found
        found = self._estimate(params)
        if len(self._estimated) >= 4:
            del self._estimated[0]
        self._estimated.append((params, found))
        return found

    def same_size(self, params: Mapping[str, Any], like: Mapping[str, Any]) -> None:
        """`params` has the size of `like` (the same request with cache markers added): one estimate serves both."""
        for known, found in self._estimated:
            if known is like:
                self._estimated.append((params, found))
                return

    def _estimate(self, params: Mapping[str, Any]) -> Estimate:
        messages: Sequence[Any] = params.get("messages") or ()
        found = self.facts(messages)
        overhead = overhead_size(params, self._tool_memo)
        total = round(overhead * self.scale) + round(found.cum[-1] * self.scale) + self.correction(messages)
        anchor = self._anchor
        if anchor is None:
            rate = self.margin if self._calibrated else UNCALIBRATED_ERROR
            return Estimate(total, math.ceil(rate * total), self._framing(found))
        changed = moved(anchor, messages, found, self._exact)
        if changed is None:  # the counted history was changed in place: as uncertain as with no anchor
            return Estimate(total, math.ceil(self.margin * total), self._framing(found))
        size, tools = changed
        size += abs(overhead - anchor.overhead)
        return Estimate(total, math.ceil((self.margin * size + FRAMING_DOUBT * tools) * self.scale))

    def _framing(self, found: Facts) -> int:
        return math.ceil(FRAMING_DOUBT * found.tool_blocks() * self.scale)

    def _adopt(self, messages: Sequence[Any]) -> None:
        """Take over the exact count an earlier run left on `messages` (a `History`): a run resumed
        with `history=result.messages` needs no fresh calibration."""
        carried = getattr(messages, "anchor", None)
        if carried is not None and carried[0] == self.key and carried[1] is not None:
            anchor = carried[1]
            self._anchor, self.scale, self._calibrated, self._estimated = anchor, anchor.scale, True, []

    def carried(self) -> tuple[tuple[str, str], Any] | None:
        """What a `History` carries to the next run: this counter's key and last exact count."""
        return (self.key, self._anchor) if self._anchor is not None else None

    @property
    def calibrated(self) -> bool:
        """Whether an exact count (a response, `count_tokens`, or an earlier run) has calibrated the estimate."""
        return self._calibrated

    def needs_exact(self, estimate: int, budget: int, *, cap: bool = False) -> bool:
        """Whether `budget` lies within the estimate's error, so that only `count_tokens` can decide.

        `cap`: the budget is a usage limit, so the estimate's `framing` counts too (see `Estimate`).
        """
        error = getattr(estimate, "error", math.ceil(UNCALIBRATED_ERROR * estimate))
        if cap:
            error += getattr(estimate, "framing", 0)
        return abs(estimate - budget) <= error

    async def exact(self, client: anthropic.AsyncAnthropic, params: Mapping[str, Any]) -> int:
        """Count `params` with `messages.count_tokens` (only the fields it takes); it becomes the anchor."""
        accepted = _count_fields(client.messages)
        counted = await client.messages.count_tokens(**{k: v for k, v in params.items() if k in accepted})
        self.count_tokens_calls += 1
        self._anchor_at(params, counted.input_tokens)
        return counted.input_tokens

    def observe(self, params: Mapping[str, Any], usage: Any, reply: Mapping[str, Any] | None = None) -> None:
        """Record a response: `params` as sent (before cache markers), its usage, and the reply appended.

        `usage` is the SDK's `Usage` (or agentkit's `Usage`); the prompt it reports becomes the anchor.
        """
        prompt = _prompt_tokens(usage)
        self._anchor_at(params, prompt)
        self.context_tokens = prompt
        self.peak_context_tokens = max(self.peak_context_tokens, prompt)
        if reply is not None:
            self._exact = (reply, int(usage.output_tokens or 0))

    def stats(self, dropped_messages: int = 0) -> ContextStats:
        return ContextStats(self.context_tokens, self.peak_context_tokens, self.count_tokens_calls, dropped_messages)

    def _anchor_at(self, params: Mapping[str, Any], tokens: int) -> None:
        from ._learned import LEARNED

        messages: Sequence[Any] = params.get("messages") or ()
        found = self.facts(messages)
        overhead = overhead_size(params, self._tool_memo)
        if found.cum[-1] + overhead > 0 and tokens > 0:
            self.scale = tokens / (found.cum[-1] + overhead)
            self._calibrated = True
            LEARNED.calibrated(self.key, self.scale)
        anchor = Anchor(list(messages) if not isinstance(messages, list) else messages, found, overhead, self.scale)
        self._anchor, self._exact, self._estimated = anchor, None, []


def _prompt_tokens(usage: Any) -> int:
    if isinstance(usage, Usage):  # not hasattr: a miss on the SDK's pydantic model is slow
        return usage.prompt_tokens
    return int(
        (usage.input_tokens or 0)
        + (getattr(usage, "cache_read_input_tokens", 0) or 0)
        + (getattr(usage, "cache_creation_input_tokens", 0) or 0)
    )


_COUNT_FIELDS: dict[type, frozenset[str]] = {}


def _count_fields(resource: Any) -> frozenset[str]:
    """The body fields `count_tokens` takes, read from the SDK's signature (not its transport options)."""
    kind = type(resource)
    if kind not in _COUNT_FIELDS:
        parameters = inspect.signature(resource.count_tokens).parameters
        _COUNT_FIELDS[kind] = frozenset(parameters) - {"extra_headers", "extra_query", "extra_body", "timeout"}
    return _COUNT_FIELDS[kind]
