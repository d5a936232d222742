"""The 3-turn tool task of the batch tests, answered by the loopback server's batches."""

from __future__ import annotations

import json

from agentkit.batch import Polling
from agentkit.testing import Reply, Request, tool_use

MODEL = "claude-haiku-4-5"
FAST = Polling(first=0.001, factor=2.0, cap=0.02)


def lookup(city: str) -> str:
    """The country a city is in.

    Args:
        city: The city's name.
    """
    return f"{city} is in Examplestan"


def population(city: str) -> int:
    """How many people live in a city.

    Args:
        city: The city's name.
    """
    return 1000 + len(city)


def three_turns(request: Request) -> Reply:
    """Turn 1 asks `lookup`, turn 2 asks `population`, turn 3 answers with both results."""
    results = [r for m in request.messages if m["role"] == "user" for r in _blocks(m) if r["type"] == "tool_result"]
    city = request.messages[0]["content"] if isinstance(request.messages[0]["content"], str) else "?"
    city = city.removeprefix("About ")
    if not results:
        return Reply(content=[tool_use("lookup", {"city": city})])
    if len(results) == 1:
        return Reply(content=[tool_use("population", {"city": city})])
    texts = [r["content"] if isinstance(r["content"], str) else json.dumps(r["content"]) for r in results]
    return Reply.text(f"{city}: " + "; ".join(texts))


def _blocks(message: dict[str, object]) -> list[dict[str, object]]:
    content = message["content"]
    return [b for b in content if isinstance(b, dict)] if isinstance(content, list) else []
