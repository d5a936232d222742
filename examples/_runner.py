"""Shared by the examples: pick the real API or the offline server, and print a run.

With ANTHROPIC_API_KEY set, the examples call Claude. Without it they run against
agentkit.testing's loopback Messages API server, answered by each example's scripted model,
so the whole loop (requests, tool calls, results, usage) is visible with no key.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from agentkit import RunResult
from agentkit.testing import Handler, MessagesServer

if TYPE_CHECKING:
    import anthropic


@contextmanager
def model_client(scripted_model: Handler) -> Iterator[anthropic.AsyncAnthropic | None]:
    """None (the agent makes its own client from the environment) with a key, else an offline one."""
    if os.environ.get("ANTHROPIC_API_KEY"):
        yield None
        return
    with MessagesServer(scripted_model) as server:
        yield server.client()


def online() -> bool:
    return bool(os.environ.get("ANTHROPIC_API_KEY"))


def show(title: str, result: RunResult[Any]) -> None:
    """Print the conversation a run produced, its tool calls and its usage."""
    print(f"\n=== {title} ({'Claude' if online() else 'offline, scripted model'}) ===")
    for message in result.messages:
        content = message["content"]
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content
        for block in blocks:
            lines = _describe(block).splitlines() or [""]
            print(f"  {message['role']:>9} | " + "\n            | ".join(lines))
    u = result.usage
    print(
        f"  output: {result.output!r}\n  usage: {u.requests} requests, {u.input_tokens} input "
        f"(+{u.cache_read_tokens} cache read, +{u.cache_write_tokens} cache write), {u.output_tokens} output"
    )


def _describe(block: Any) -> str:
    kind = block["type"]
    if kind == "text":
        return str(block["text"])
    if kind == "tool_use":
        return f"-> {block['name']}({json.dumps(block['input'])})"
    if kind == "tool_result":
        flag = " [error]" if block.get("is_error") else ""
        return f"<- {block['content']}{flag}"
    return f"[{kind}]"
