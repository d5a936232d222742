"""A streamed response folded into its `Message`, event by event, and the deltas a reader sees.

The SDK's stream helper (`messages.stream`) rebuilds a snapshot of the message on every event: a
`to_dict()` and a new model for the message and for every block start, a partial JSON parse of a
tool's input on every input delta, and a synthesised event or two per event read. A run needs
only the final message and a few deltas, so the raw events (`messages.create(stream=True)`) are
folded here with a few attribute writes each, and a tool's input is parsed once, when its block
stops (leniently, as the SDK does: a call cut by `max_tokens` keeps what was written of it). The
result is the `Message` the SDK's own accumulation returns.

The beta API's own pieces are folded too: a server compaction block's `compaction_delta`, the
`context_management` a `message_delta` reports, and the model a `fallback` block names.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..result import TextDelta, ThinkingDelta, ToolCallStarted

if TYPE_CHECKING:
    from anthropic.types import Message

    from ..result import StreamDelta


_EVENT_PARTS = frozenset({"type", "delta", "usage"})


class BrokenResponse(Exception):
    """A response that arrived incomplete: retried as a whole, like a cut connection."""


class Accumulated:
    """The message a stream has delivered so far; `add` each event in order, then `whole()`."""

    __slots__ = ("_inputs", "_message", "_open", "_stopped", "_trailing")

    def __init__(self, *, fine_grained: bool = False) -> None:
        """`fine_grained`: the request asked for fine-grained tool streaming (a beta), whose inputs
        may end inside a string, which the SDK then keeps (`trailing-strings`)."""
        self._trailing = fine_grained
        self._message: Any = None
        self._inputs: dict[int, list[str]] = {}  # block index -> the pieces of its input JSON
        self._open = 0
        self._stopped = False

    def add(self, event: Any) -> StreamDelta | None:
        """Fold one event in; the delta a stream reader is shown for it, if any."""
        kind = event.type
        if kind == "content_block_delta":
            return self._delta(event.index, event.delta)
        if kind == "content_block_start":
            block = event.content_block
            message = self._snapshot()
            message.content.append(block)
            self._open += 1
            if block.type == "fallback":  # beta: the model that served the rest of the response
                message.model = block.to.model
            return ToolCallStarted(block.id, block.name) if block.type == "tool_use" else None
        if kind == "content_block_stop":
            self._open -= 1
            pieces = self._inputs.pop(event.index, None)
            text = "".join(pieces) if pieces else ""
            if text:  # a call with no input streams one empty delta: its `{}` from the start stays
                self._parse_input(event.index, text)
        elif kind == "message_start":
            if self._message is None:
                self._message = event.message
        elif kind == "message_delta":
            self._finish(event)
        elif kind == "message_stop":
            self._stopped = True
        return None

    def whole(self) -> Message:
        """The message, once the stream delivered all of it (its stop, every block closed)."""
        if not self._stopped or self._open or self._message is None:
            raise BrokenResponse("the stream ended before message_stop")
        return self._message  # type: ignore[no-any-return]

    def _snapshot(self) -> Any:
        if self._message is None:
            raise BrokenResponse("the stream sent a content block before message_start")
        return self._message

    def _delta(self, index: int, delta: Any) -> StreamDelta | None:
        block = self._snapshot().content[index]
        kind = delta.type
        if kind == "text_delta":
            if block.type == "text":
                block.text += delta.text
                return TextDelta(delta.text) if delta.text else None
        elif kind == "input_json_delta":
            if hasattr(block, "input"):  # a tool_use or server_tool_use block
                self._inputs.setdefault(index, []).append(delta.partial_json)
        elif kind == "thinking_delta":
            if block.type == "thinking":
                block.thinking += delta.thinking
                return ThinkingDelta(delta.thinking)
        elif kind == "signature_delta":
            if block.type == "thinking":
                block.signature = delta.signature
        elif kind == "citations_delta":
            if block.type == "text":
                block.citations = [*(block.citations or ()), delta.citation]
        elif kind == "compaction_delta" and block.type == "compaction":  # beta: server compaction
            block.content, block.encrypted_content = delta.content, delta.encrypted_content
        return None

    def _parse_input(self, index: int, text: str) -> None:
        """The input as the SDK reads it: JSON cut short (a call `max_tokens` stopped) gives what was
        written of it, so the loop sees the `max_tokens` stop and redoes the turn with more room."""
        from jiter import from_json  # the SDK's own JSON reader

        try:
            value = from_json(text.encode(), partial_mode="trailing-strings" if self._trailing else True)
        except ValueError as exc:
            raise BrokenResponse(f"the tool input of block {index} was not JSON ({exc})") from exc
        self._message.content[index].input = value

    def _finish(self, event: Any) -> None:
        """`message_delta`: the stop, and usage totals that replace the start's where they are given
        (with the beta API's fields of the event itself, such as `context_management`)."""
        message = self._snapshot()
        for name in event.model_fields_set - _EVENT_PARTS:
            value = getattr(event, name)
            if value is not None:
                setattr(message, name, value)
        delta = event.delta
        for name in delta.model_fields_set:
            value = getattr(delta, name)
            if value is not None or name.startswith("stop_"):
                setattr(message, name, value)
        usage = event.usage
        for name in usage.model_fields_set:
            value = getattr(usage, name)
            if value is not None:
                setattr(message.usage, name, value)
