"""Phase 1 of a turn: prepare the request.

Build the params from the settings and the history; fit the history to the memory budget
(whole turns only; the one place trimming may await: a summary call, or `count_tokens` when
the estimate is too close to the budget to decide); check the usage limits; place the cache
breakpoints. Continuation requests pass the same budget and limit checks (`guard`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from ..errors import InputError, MemoryBudgetExceeded, UsageLimitExceeded
from ..memory import Fit
from ..output import OUTPUT_TOOL, OutputSpec
from ..usage import Usage
from .cache import place_breakpoints

if TYPE_CHECKING:
    import anthropic
    from anthropic.types import MessageParam

    from ..memory import MemoryStrategy
    from ..prompts import SystemPrompt
    from ..settings import AgentSettings
    from ..tools import Tool
    from .state import RunState

# The Messages API's documented limits on base64 media in a request.
_MAX_IMAGE_BYTES = 5 * 1024 * 1024
_MAX_PDF_BYTES = 32 * 1024 * 1024
_IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
_PLANS = 3  # a summary, an exact count, then the plan that is sent
_ANSWER_WITH_TOOL = (
    f"When you have the final answer, give it by calling the `{OUTPUT_TOOL}` tool; do not write it as text."
)


@dataclass(frozen=True)
class Prepared:
    """One request: `params` as fitted (what token accounting sees) and `sent`, with cache markers."""

    params: dict[str, Any]
    sent: dict[str, Any]


def user_message(prompt: str | Sequence[dict[str, Any]]) -> MessageParam:
    """The user turn for a prompt: a string, or content blocks (text, image, document).

    Media the API would refuse (too large, an unknown image type) fails here, before any request.
    """
    if isinstance(prompt, str):
        return cast("MessageParam", {"role": "user", "content": prompt})
    content = list(prompt)
    for index, block in enumerate(content):
        _check_media(index, block)
    return cast("MessageParam", {"role": "user", "content": content})


def _check_media(index: int, block: Any) -> None:
    source = block.get("source") if isinstance(block, dict) else None
    if not isinstance(source, dict) or source.get("type") != "base64":
        return
    size = len(source.get("data", "")) * 3 // 4  # decoded bytes
    kind, media_type = block.get("type"), source.get("media_type")
    if kind == "image" and media_type not in _IMAGE_TYPES:
        raise InputError(f"prompt[{index}]: image media_type {media_type!r} is not one of {sorted(_IMAGE_TYPES)}")
    limit = _MAX_IMAGE_BYTES if kind == "image" else _MAX_PDF_BYTES
    if size > limit:
        raise InputError(
            f"prompt[{index}]: the {kind} is {size / 1024 / 1024:.1f} MB, over the API's {limit // 1024 // 1024} MB "
            f"limit; resize or compress it, or pass it by URL or file id"
        )


def render_system(
    prompt: SystemPrompt | None, variables: Mapping[str, Any], output: OutputSpec[Any] | None, *, thinking: bool
) -> str | None:
    """The system text for this run, or None when there is none.

    With thinking on, `tool_choice` cannot force the output tool, so the prompt asks for it.
    """
    text = prompt.render(dict(variables)) if prompt is not None else ""
    if output is not None and output.mode == "tool" and thinking:
        text = f"{text}\n\n{_ANSWER_WITH_TOOL}" if text.strip() else _ANSWER_WITH_TOOL
    return text if text.strip() else None


def build_params(
    settings: AgentSettings,
    system: str | None,
    messages: list[MessageParam],
    tools: Mapping[str, Tool],
    output: OutputSpec[Any] | None,
    strategy: MemoryStrategy,
) -> dict[str, Any]:
    """The keyword arguments of `messages.create` for one request. Pure.

    `request_params` go last so a user can set any field the API takes (but not the run's own:
    model, system, tools, messages, which `AgentSettings` refuses there).
    """
    params: dict[str, Any] = {"model": settings.model, "max_tokens": settings.max_tokens, "messages": messages}
    if system is not None:
        params["system"] = system
    tool_params = [tool.param for tool in tools.values()]  # shared dicts: sized once per run
    for name in ("temperature", "top_p", "stop_sequences", "thinking"):
        value = getattr(settings, name)
        if value is not None:
            params[name] = list(value) if name == "stop_sequences" else value
    thinking = settings.effective_thinking
    if output is not None and output.mode == "tool":
        tool_params.append(output.tool_param())
        if thinking is None:  # the API refuses a forced tool_choice with thinking
            params["tool_choice"] = {"type": "tool", "name": OUTPUT_TOOL} if len(tool_params) == 1 else {"type": "any"}
    elif output is not None:
        config = dict(settings.request_params.get("output_config") or {})
        params["output_config"] = {**config, "format": output.native_format()}
    if not tool_params and _uses_tools(messages):
        tool_params = _answered_only(messages)
    if tool_params:
        params["tools"] = tool_params
    params.update(strategy.server_params(settings.memory_budget))
    if strategy.betas:
        params["betas"] = list(strategy.betas)
    extra = dict(settings.request_params)
    if "output_config" in params:
        extra.pop("output_config", None)  # merged with the output format above
    params.update(extra)
    return params


def _uses_tools(messages: Sequence[Mapping[str, Any]]) -> bool:
    for message in messages:
        content = message.get("content")
        if isinstance(content, list) and any(
            isinstance(b, Mapping) and b.get("type") in ("tool_use", "tool_result") for b in content
        ):
            return True
    return False


def _answered_only(messages: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Definitions for the tools an earlier exchange of the history used (an agent with no tools
    going on from a typed-output run): the API refuses tool blocks in a request without `tools`.
    They are offered with `tool_choice` left alone, and a call to one is answered as unknown."""
    names: dict[str, None] = {}
    for message in messages:
        content = message.get("content")
        if isinstance(content, list):
            for block in content:
                if isinstance(block, Mapping) and block.get("type") == "tool_use":
                    names[str(block.get("name"))] = None
    return [
        {
            "name": name,
            "description": "Used earlier in this conversation; no longer available.",
            "input_schema": {"type": "object", "properties": {}},
        }
        for name in names
    ]


async def prepare(state: RunState, client: anthropic.AsyncAnthropic, strategy: MemoryStrategy) -> Prepared:
    """The next request of the run: built, fitted to the budget, within the limits, cache-marked."""
    settings = state.settings
    params = build_params(settings, state.system, state.messages, state.tools, state.input.output, strategy)
    params, state.dropped = await _fit(client, params, state.messages, state, strategy)
    return await _finish(state, client, params)


async def guard(
    state: RunState,
    client: anthropic.AsyncAnthropic,
    strategy: MemoryStrategy,
    prepared: Prepared,
    params: dict[str, Any],
    turn_usage: Usage,
) -> dict[str, Any]:
    """A continuation or redo of `prepared` under the same budget and limits (given the turn's usage).

    A continuation carries the partial answer after the history; when that passes the budget, the
    history is fitted again with the partial answer's room reserved, so the request stays within it.
    """
    budget = state.settings.memory_budget
    sent = prepared.params["messages"]
    tail = params["messages"][len(sent) :]
    if budget is not None and tail and strategy.trims and state.counter.estimate(params) > budget:
        reserve = state.counter.estimate({"messages": tail})
        base = {k: v for k, v in params.items() if k != "messages"}
        refit, state.dropped = await _fit(client, {**base, "messages": sent}, state.messages, state, strategy, reserve)
        params = {**base, "messages": [*refit["messages"], *tail]}
    return await _within_limits(state, client, params, state.usage + turn_usage)


async def _finish(state: RunState, client: anthropic.AsyncAnthropic, params: dict[str, Any]) -> Prepared:
    params = await _within_limits(state, client, params, state.usage)
    settings, counter = state.settings, state.counter
    tokens = counter.estimate(params)  # one estimate: the limits, the cache minimum, the pacer
    sent = place_breakpoints(
        params, mode=settings.cache, ttl=settings.cache_ttl, measure=counter, at_most=tokens + tokens.error
    )
    counter.same_size(sent, params)
    return Prepared(params, sent)


async def _within_limits(
    state: RunState, client: anthropic.AsyncAnthropic, params: dict[str, Any], used: Usage
) -> dict[str, Any]:
    """The params if the request stays within the usage limits (max_tokens lowered to fit), else the error.

    A token limit the estimate lands within its error of is decided on an exact count, as the
    memory budget is: an estimate a few tokens low would send a prompt over the limit.
    """
    limits = state.settings.usage_limits
    if limits is None:
        return params
    counter = state.counter
    prompt: int = counter.estimate(params)
    bounds = [
        (limits.input_tokens, used.prompt_tokens),
        (limits.total_tokens, used.prompt_tokens + used.output_tokens),
    ]
    if any(limit is not None and counter.needs_exact(prompt, limit - spent, cap=True) for limit, spent in bounds):
        prompt = await counter.exact(client, params)
    why = limits.check(used, next_prompt_tokens=prompt, model=params["model"])
    if why is not None:
        raise UsageLimitExceeded(f"Usage limit reached before the next request: {why}")
    max_tokens = limits.max_tokens(used, params["max_tokens"], prompt)
    thinking = params.get("thinking")
    budget = thinking.get("budget_tokens") if isinstance(thinking, Mapping) else None
    if isinstance(budget, int) and max_tokens <= budget:
        raise UsageLimitExceeded(
            f"Usage limit reached before the next request: only {max_tokens} output tokens are left, and with "
            f"thinking budget_tokens={budget} the API needs max_tokens above the budget; raise the limit"
        )
    return params if max_tokens == params["max_tokens"] else {**params, "max_tokens": max_tokens}


async def _fit(
    client: anthropic.AsyncAnthropic,
    params: dict[str, Any],
    messages: list[MessageParam],
    state: RunState,
    strategy: MemoryStrategy,
    reserve: int = 0,
) -> tuple[dict[str, Any], int]:
    """The params with their messages fitted to the budget (less `reserve`), and how many were left out."""
    settings, counter = state.settings, state.counter
    if settings.memory_budget is None or not strategy.trims:
        return params, 0
    budget = settings.memory_budget - reserve
    base = {key: value for key, value in params.items() if key != "messages"}
    fitted, dropped = params, 0
    counted = False
    for _ in range(_PLANS):
        fit = Fit(budget, counter.overhead(base), counter, settings.keep_first, settings.pinned, state.turn_start)
        try:
            plan = strategy.plan(messages, fit)
        except MemoryBudgetExceeded:
            # An estimate is not a count: before giving up, count exactly. The estimate's error says
            # nothing about images and documents, whose tokens no text calibration predicts (a flat
            # guess per block, scaled like text), so a margin check alone raised on prompts that fit.
            if counted:
                raise
            await counter.exact(client, params)
            counted = True
            continue
        if plan.job is not None:
            summary = await strategy.complete(client, plan.job)
            if summary is not None:
                state.usage.add(Usage.from_response(summary.usage))
            continue
        fitted, dropped = {**base, "messages": plan.messages}, plan.dropped_messages
        if not counter.needs_exact(counter.estimate(fitted), budget):
            break
        await counter.exact(client, fitted)
        counted = True
    return fitted, dropped
