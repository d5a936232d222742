"""What the e2e tests share: the recorded wire, in-memory traces, the forced-tool-call emulation."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

MESSAGES = "/v1/messages"
COUNT_TOKENS = "/v1/messages/count_tokens"


@dataclass
class Wire:
    """What went over the wire: the request bodies agentkit sent, by path, in order.

    `rewrite` (tests only) may change a /v1/messages body before it is sent; `sent` keeps the body
    agentkit produced, which is the one checked against the API's rules.
    """

    sent: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    rewrite: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    allow_rejected: bool = False

    def bodies(self, path: str = MESSAGES) -> list[dict[str, Any]]:
        return [body for p, body in self.sent if p == path]

    def rejected(self) -> list[str]:
        """The 400s the real Messages API would have answered, one line each."""
        from agentkit.testing import validate

        found = []
        for number, (path, body) in enumerate(self.sent, 1):
            endpoint = "count_tokens" if path == COUNT_TOKENS else "messages"
            why = validate(body, endpoint=endpoint)
            if why is not None:
                found.append(f"request #{number} {path}: {why}")
        return found


def tool_call_prefill(name: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """A `Wire.rewrite` that makes the model call tool `name` on a fresh prompt.

    Deviation: llama-server accepts a forced `tool_choice` but does not force a call (the model
    answers in text). What the API's forced choice guarantees is emulated the way this server
    allows: the request ends with an assistant prefill that opens the template's `<tool_call>` JSON
    with the tool's name, and stops at `</tool_call>`; llama-server parses prefill and continuation
    into one `tool_use` block. Only a request whose last message is the user's prompt is changed,
    so the turns after the tool results are left to the model.
    """

    def rewrite(body: dict[str, Any]) -> dict[str, Any]:
        last = body["messages"][-1]
        blocks = last["content"] if isinstance(last["content"], list) else []
        if last["role"] != "user" or any(b.get("type") == "tool_result" for b in blocks):
            return body
        prefill = {"role": "assistant", "content": f'<tool_call>\n{{"name": "{name}", "arguments": '}
        stops = [*body.get("stop_sequences", []), "</tool_call>"]
        return {**body, "messages": [*body["messages"], prefill], "stop_sequences": stops}

    return rewrite


@dataclass
class Traces:
    """Spans of the runs made with `settings`, kept in memory."""

    exporter: Any
    settings: Any

    def names(self) -> list[str]:
        return [span.name for span in self.exporter.get_finished_spans()]

    def named(self, prefix: str) -> list[Any]:
        return [span for span in self.exporter.get_finished_spans() if span.name.startswith(prefix)]
