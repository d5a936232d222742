"""Builders of Messages API histories for the memory tests: turns, parallel tool calls, thinking."""

from __future__ import annotations

from typing import Any

from agentkit.testing import text, thinking

Message = dict[str, Any]


def prompt(n: int, words: int = 20) -> Message:
    return {"role": "user", "content": f"Question {n}: " + "word " * words}


def exchange(tag: str, calls: int = 1, *, think: bool = False, error: bool = False, size: int = 200) -> list[Message]:
    """An assistant message calling `calls` tools in parallel, and the user message answering them."""
    uses = [{"type": "tool_use", "id": f"toolu_{tag}_{k}", "name": "lookup", "input": {"q": tag}} for k in range(calls)]
    head = [thinking(f"Thinking about {tag}.")] if think else []
    results = [
        {"type": "tool_result", "tool_use_id": u["id"], "content": "r" * size, **({"is_error": True} if error else {})}
        for u in uses
    ]
    return [
        {"role": "assistant", "content": [*head, text(f"Calling for {tag}."), *uses]},
        {"role": "user", "content": results},
    ]


def answer(n: int, words: int = 20) -> Message:
    return {"role": "assistant", "content": [text(f"Answer {n}: " + "word " * words)]}


def conversation(turns: int, exchanges: int = 1, *, open_turn: int = 2) -> list[Message]:
    """`turns` finished turns, then a current turn with `open_turn` exchanges awaiting the model."""
    history: list[Message] = []
    for n in range(turns):
        history.append(prompt(n))
        for e in range(exchanges):
            history += exchange(f"{n}x{e}")
        history.append(answer(n))
    history.append(prompt(turns))
    for e in range(open_turn):
        history += exchange(f"now{e}")
    return history


def body(messages: list[Message], **fields: Any) -> dict[str, Any]:
    return {"model": "claude-sonnet-4-6", "max_tokens": 1024, "messages": messages, **fields}
