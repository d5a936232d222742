"""Phase 2 of a turn: complete it. One whole answer from the model, whatever `max_tokens` cut.

A text answer cut at `max_tokens` is continued, up to `max_continuations` times, and stitched so
the text is exactly what one uninterrupted answer would be. Where the model takes an assistant
prefill, the partial text goes back as the final assistant message with trailing whitespace
stripped (the API rejects it otherwise) and the model continues it; where it does not (thinking
enabled, a model family the model table knows refuses prefill, or one that answered a prefill
with a 400 before), a user turn asks it to continue. Every continuation request passes the
run's memory budget and usage limits (`guard`) like the turn's first request. Some Anthropic-compatible
servers (llama.cpp's llama-server) start their answer to a prefill with the prefill itself, where the
API gives only what follows: that repeat is dropped, so the stitched text holds each piece once. Text
alone cannot tell an echo from an answer that genuinely goes on with what it said ("c", then "cf"),
so a server is taken to echo only once it repeated a prefill of `_SURE_ECHO` characters or more, and
then for the process (`LEARNED.echoes_prefill`); one that answered such a prefill without the repeat
never has its text cut. A tool call cut at `max_tokens` is never run: the turn is redone with a larger
`max_tokens`.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import aclosing
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .._models import refuses_prefill
from ..errors import APIError, MaxTokensReached
from ..result import ModelCallStarted, Retrying, StreamDelta, TextDelta, ThinkingDelta, ToolCallStarted
from ..usage import Usage
from ._learned import LEARNED, key_of
from .model import assistant_message, dump_block, request

if TYPE_CHECKING:
    import anthropic
    from anthropic.types import Message, MessageParam

    from ..hooks import ModelCallHook
    from ..pacing import RunPacing
    from ..telemetry import RunTelemetry

Guard = Callable[[dict[str, Any], Usage], Awaitable[dict[str, Any]]]
"""Checks a continuation request against the run's budget and limits (given the turn's usage so far)."""

CONTINUE_PROMPT = (
    "Your answer was cut off by the output limit. Continue exactly where it stopped: "
    "no preamble, do not repeat anything."
)
_FALLBACK_OUTPUT_LIMIT = 64_000
_SURE_ECHO = 12
"""The shortest prefill whose repeat at the start of an answer is taken for an echo, not chance."""


@dataclass(frozen=True)
class Answer:
    """The model's complete turn: the stitched response, the history entry, the usage of every call.

    `first_usage` is the usage of the turn's first request alone: the one token accounting can
    calibrate on, since its prompt is the prepared request's (a continuation's holds more).
    """

    response: Message
    message: MessageParam | None
    usage: Usage
    first_usage: Any = None


async def complete(
    client: anthropic.AsyncAnthropic,
    params: dict[str, Any],
    *,
    stream: bool,
    max_continuations: int,
    tel: RunTelemetry,
    turn: int,
    guard: Guard | None = None,
    hook: ModelCallHook | None = None,
    pacing: RunPacing | None = None,
) -> AsyncGenerator[ModelCallStarted | StreamDelta | Retrying | Answer, None]:
    """Call the model until its turn is whole; yield stream deltas, then one `Answer`."""
    usage = Usage()
    first_usage: Any = None
    partial = ""  # the text so far, trailing whitespace dropped (the continuation supplies it)
    thinking: list[Any] = []  # thinking blocks of earlier pieces, kept at the front
    texts: list[Any] = []  # text blocks of earlier pieces (citations and all), stitched at the end
    continuations = 0
    sent = params
    key = key_of(client, params["model"])
    while True:
        held = _HeldWhitespace()
        echo = _Echo(partial if continuations and _uses_prefill(sent) and _may_echo(key, partial) else "")
        response: Message | None = None
        if sent is not params and guard is not None:
            wanted = sent["max_tokens"]
            sent = await guard(sent, usage)
            if sent["max_tokens"] < wanted and not continuations:
                raise MaxTokensReached(
                    f"A tool call was cut at max_tokens and the usage limits leave no room to redo it with "
                    f"max_tokens={wanted}; raise the limits or ask for smaller tool inputs",
                    partial_output=partial,
                    usage=usage,
                )
        yield ModelCallStarted(turn, continuations)
        try:
            async with aclosing(
                request(client, sent, stream=stream, tel=tel, turn=turn, hook=hook, pacing=pacing)
            ) as items:
                async for item in items:
                    if isinstance(item, TextDelta):
                        if shown := held.feed(echo.feed(item.text)):
                            yield item if shown == item.text else TextDelta(shown)
                    elif isinstance(item, Retrying):
                        held, echo = _HeldWhitespace(), _Echo(echo.prefill)
                        yield item
                    elif isinstance(item, (ThinkingDelta, ToolCallStarted)):
                        yield item
                    else:
                        response = item
        except APIError as exc:
            if continuations and sent is not params and _rejects_prefill(exc) and _uses_prefill(sent):
                LEARNED.no_prefill.add(key)
                sent = _continue_with(params, partial, thinking, prefill=False)
                continue
            raise
        assert response is not None
        if echo.prefill and key not in LEARNED.echoes_prefill:
            _learn_echo(key, echo.prefill, response)
        usage.add(Usage.from_response(response.usage))
        if first_usage is None:
            first_usage = response.usage
        cut = response.stop_reason == "max_tokens"
        if shown := held.feed(echo.flush()):
            yield TextDelta(shown)
        if not cut and held.text:
            yield TextDelta(held.text)

        if cut and any(block.type == "tool_use" for block in response.content):
            sent = await _more_room(client, sent, usage, partial, tel)
            yield Retrying(f"max_tokens cut a tool call; redoing the turn with max_tokens={sent['max_tokens']}")
            continue
        text = partial + echo.strip("".join(b.text for b in response.content if b.type == "text"))
        if not cut:
            stitched = _stitched(response, texts, thinking, echo) if continuations else response
            yield Answer(stitched, assistant_message(stitched), usage, first_usage)
            return
        if continuations == max_continuations:
            raise MaxTokensReached(
                f"The answer was still cut at max_tokens={params['max_tokens']} after "
                f"{continuations} continuation(s); raise max_tokens or max_continuations",
                partial_output=text,
                usage=usage,
            )
        continuations += 1
        partial = text.rstrip()
        thinking += [b for b in response.content if b.type in ("thinking", "redacted_thinking")]
        texts += _own_text(response, echo)
        prefill = not _thinking_enabled(params) and _takes_prefill(key)
        tel.emit("info", "continuing_past_max_tokens", turn=turn, continuation=continuations, prefill=prefill)
        # Nothing but whitespace so far: there is nothing to continue, so ask again from the start.
        sent = _continue_with(params, partial, thinking, prefill=prefill) if partial else params


def _continue_with(params: dict[str, Any], partial: str, thinking: list[Any], *, prefill: bool) -> dict[str, Any]:
    """The request that continues `partial`: as a prefill, or after a user turn asking for it."""
    blocks = [dump_block(b) for b in thinking] + [{"type": "text", "text": partial}]
    messages = [*params["messages"], {"role": "assistant", "content": blocks}]
    if not prefill:
        messages.append({"role": "user", "content": CONTINUE_PROMPT})
    return {**params, "messages": messages}


def _takes_prefill(key: tuple[str, str]) -> bool:
    """Whether to continue with a prefill: the model table first, then what was learned."""
    return refuses_prefill(key[1]) is not True and key not in LEARNED.no_prefill


def _may_echo(key: tuple[str, str], prefill: str) -> bool:
    """Whether a repeat of `prefill` at the start of the answer would be an echo of it."""
    echoes = LEARNED.echoes_prefill.get(key)
    return echoes if echoes is not None else len(prefill) >= _SURE_ECHO


def _learn_echo(key: tuple[str, str], prefill: str, response: Message) -> None:
    """Remember whether the server echoed a prefill long enough to tell (its first text block says)."""
    first = next((b.text for b in response.content if b.type == "text"), None)
    if first is not None and (len(first) >= len(prefill) or not prefill.startswith(first)):
        LEARNED.echoes_prefill[key] = first.startswith(prefill)


def _own_text(response: Message, echo: _Echo) -> list[Any]:
    """The text blocks of one piece, the repeat of the prefill dropped from the first."""
    blocks = [b for b in response.content if b.type == "text"]
    if blocks and echo.prefill and blocks[0].text.startswith(echo.prefill):
        blocks[0] = blocks[0].model_copy(update={"text": echo.strip(blocks[0].text)})
    return blocks


def _stitched(last: Message, texts: list[Any], thinking: list[Any], echo: _Echo) -> Message:
    """The last piece with every piece's text blocks in order, earlier thinking first.

    Each text block keeps its fields (citations); a block cut mid-way at `max_tokens` is joined
    with the next piece's first block when neither carries citations, so plain text stays one block.
    The trailing whitespace a cut piece ended with was dropped for the continuation and is
    regenerated by the next piece.
    """
    own = [b for b in last.content if b.type in ("thinking", "redacted_thinking")]
    rest = [b for b in last.content if b.type not in ("text", "thinking", "redacted_thinking")]
    blocks: list[Any] = []
    for block in [*texts, *_own_text(last, echo)]:
        if blocks and not getattr(blocks[-1], "citations", None) and not getattr(block, "citations", None):
            blocks[-1] = blocks[-1].model_copy(update={"text": blocks[-1].text.rstrip() + block.text})
        else:
            if blocks:
                blocks[-1] = blocks[-1].model_copy(update={"text": blocks[-1].text.rstrip()})
            blocks.append(block)
    return last.model_copy(update={"content": [*thinking, *own, *blocks, *rest]})


async def _more_room(
    client: anthropic.AsyncAnthropic, sent: dict[str, Any], usage: Usage, partial: str, tel: RunTelemetry
) -> dict[str, Any]:
    """The same request with a larger `max_tokens`, since a tool call was cut and must not run."""
    limit = await _output_limit(client, sent["model"])
    current = sent["max_tokens"]
    if current >= limit:
        raise MaxTokensReached(
            f"A tool call was cut at max_tokens={current}, the model's output limit; ask for smaller tool inputs",
            partial_output=partial,
            usage=usage,
        )
    larger = min(current * 2, limit)
    tel.emit("warning", "tool_call_cut_at_max_tokens", max_tokens=current, retry_max_tokens=larger)
    return {**sent, "max_tokens": larger}


async def _output_limit(client: anthropic.AsyncAnthropic, model: str) -> int:
    """The model's largest `max_tokens`, from the Models API once per model, else a safe default."""
    key = key_of(client, model)
    limits = LEARNED.output_limits
    if key not in limits:
        try:
            info = await client.models.retrieve(model)
            limits[key] = int(getattr(info, "max_tokens", None) or _FALLBACK_OUTPUT_LIMIT)
        except Exception:  # an Anthropic-compatible server may not serve /v1/models
            limits[key] = _FALLBACK_OUTPUT_LIMIT
    return limits[key]


def _thinking_enabled(params: dict[str, Any]) -> bool:
    thinking = params.get("thinking")
    return isinstance(thinking, dict) and thinking.get("type") in ("enabled", "adaptive")


def _uses_prefill(params: dict[str, Any]) -> bool:
    return bool(params["messages"]) and params["messages"][-1]["role"] == "assistant"


def _rejects_prefill(exc: APIError) -> bool:
    return exc.status_code == 400 and "prefill" in str(exc).lower()


class _Echo:
    """Drops a repeat of the prefill at the start of a continuation's text (see the module docstring).

    Streamed text is held while it could still be that repeat, then dropped if it was one, or let
    through whole if it was not. With no prefill it passes everything at once.
    """

    def __init__(self, prefill: str) -> None:
        self.prefill = prefill
        self._held = ""
        self._done = not prefill

    def feed(self, text: str) -> str:
        if self._done:
            return text
        self._held += text
        if len(self._held) < len(self.prefill) and self.prefill.startswith(self._held):
            return ""
        self._done = True
        return self.strip(self._held)

    def flush(self) -> str:
        """The text still held when the answer ends (a start of the prefill, never completed)."""
        held, self._held, self._done = ("" if self._done else self._held), "", True
        return held

    def strip(self, text: str) -> str:
        """`text` without the repeat at its start, if it starts with one."""
        return text[len(self.prefill) :] if self.prefill and text.startswith(self.prefill) else text


class _HeldWhitespace:
    """Holds back trailing whitespace of streamed text until more text follows.

    A continuation drops the cut piece's trailing whitespace and regenerates it, so streaming it
    at once would show it twice; held back, the streamed text equals the stitched text.
    """

    def __init__(self) -> None:
        self.text = ""

    def feed(self, text: str) -> str:
        text = self.text + text
        shown = text.rstrip()
        self.text = text[len(shown) :]
        return shown
