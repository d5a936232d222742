"""Deterministic token estimates and a simple prompt-cache ledger for the loopback server.

No tokenizer ships for Claude, so the server counts about one token per four characters of each
block's JSON (`cache_control` left out, so placing a breakpoint never changes a count), at least
one per block, and a flat 1,500 per image or binary document. The numbers are not the real ones;
they are stable, so tests can assert them, and they grow with the prompt, so budgets can be tested.

The cache follows the documented model closely enough to test breakpoint placement: the prompt
is read in the order tools -> system -> messages; each `cache_control` breakpoint (and the
top-level `cache_control`, which marks the last block) names the prefix ending at that block.
A prefix written before and not yet expired (5 minutes, or 1 hour for `ttl: "1h"`; a hit
refreshes it) is read from cache; the longest such prefix counts as `cache_read_input_tokens`.
Later breakpoints whose prefix reaches `min_cacheable_tokens` are written
(`cache_creation_input_tokens`, split by TTL); everything else is plain `input_tokens`.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["IMAGE_TOKENS", "PromptCache", "block_tokens", "estimate_tokens", "output_tokens"]

IMAGE_TOKENS = 1_500
_CHARS_PER_TOKEN = 4
_TTL_SECONDS = {"5m": 300.0, "1h": 3600.0}


def _canonical(block: dict[str, Any]) -> str:
    return json.dumps(
        {k: v for k, v in block.items() if k != "cache_control"},
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )


def _as_block(block: Any) -> dict[str, Any]:
    if isinstance(block, dict):
        return block
    return {"type": "text", "text": block if isinstance(block, str) else json.dumps(block)}


def block_tokens(block: Any) -> int:
    """The estimate for one content block, tool definition or string (at least 1)."""
    block = _as_block(block)
    kind = block.get("type")
    source = block.get("source")
    if kind == "image" or (kind == "document" and isinstance(source, dict) and source.get("type") != "text"):
        return IMAGE_TOKENS
    nested = block.get("content")
    if kind == "tool_result" and isinstance(nested, list):
        own = _canonical({k: v for k, v in block.items() if k != "content"})
        return math.ceil(len(own) / _CHARS_PER_TOKEN) + sum(block_tokens(b) for b in nested)
    return max(1, math.ceil(len(_canonical(block)) / _CHARS_PER_TOKEN))


@dataclass(frozen=True)
class _Unit:
    """One cacheable block of the prompt, in cache order."""

    key: str
    tokens: int
    cache_control: dict[str, Any] | None


def _units(body: dict[str, Any]) -> list[_Unit]:
    units: list[_Unit] = []

    def add(prefix: str, raw: Any) -> None:
        block = _as_block(raw)
        control = block.get("cache_control")
        units.append(
            _Unit(
                prefix + _canonical(block),
                block_tokens(block),
                control if isinstance(control, dict) else None,
            )
        )

    for tool in body.get("tools") or []:
        add("tool:", tool)
    system = body.get("system")
    for block in [system] if isinstance(system, str) else system or []:
        add("system:", block)
    for message in body.get("messages") or []:
        if not isinstance(message, dict):
            continue
        role = str(message.get("role"))
        content = message.get("content")
        for block in [content] if isinstance(content, str) else content or []:
            add(f"{role}:", block)
    return units


def estimate_tokens(body: dict[str, Any]) -> int:
    """The input-token estimate for a request body (tools, system and messages)."""
    return sum(unit.tokens for unit in _units(body))


def output_tokens(content: list[dict[str, Any]]) -> int:
    """The output-token estimate for a reply's content blocks (at least 1)."""
    return max(1, sum(block_tokens(b) for b in content))


class PromptCache:
    """Remembers which prompt prefixes were written, per server, and splits usage accordingly."""

    def __init__(self, min_cacheable_tokens: int = 1024, clock: Callable[[], float] = time.monotonic) -> None:
        self.min_cacheable_tokens = min_cacheable_tokens
        self._clock = clock
        self._expiry: dict[str, float] = {}

    def clear(self) -> None:
        """Forget every cached prefix (as if they all expired)."""
        self._expiry.clear()

    def usage(self, body: dict[str, Any]) -> dict[str, Any]:
        """Input-side usage for `body`, recording what it writes to the cache."""
        units = _units(body)
        marks: list[tuple[int, str]] = [
            (i, _ttl(u.cache_control)) for i, u in enumerate(units) if u.cache_control
        ]
        top = body.get("cache_control")
        if isinstance(top, dict) and units and units[-1].cache_control is None:
            marks.append((len(units) - 1, _ttl(top)))
        cumulative, prefixes = [], []
        running, digest = 0, hashlib.sha256(str(body.get("model")).encode())
        for unit in units:
            running += unit.tokens
            digest.update(b"\x00" + unit.key.encode())
            cumulative.append(running)
            prefixes.append(digest.hexdigest())
        now = self._clock()
        read, hit = 0, -1
        for n, (i, _) in enumerate(marks):
            if self._expiry.get(prefixes[i], -math.inf) > now:
                read, hit = cumulative[i], n
        if hit >= 0:
            i, ttl = marks[hit]
            self._expiry[prefixes[i]] = now + _TTL_SECONDS[ttl]
        written = {"5m": 0, "1h": 0}
        covered = read
        for i, ttl in marks[hit + 1 :]:
            if cumulative[i] >= self.min_cacheable_tokens and cumulative[i] > covered:
                written[ttl] += cumulative[i] - covered
                covered = cumulative[i]
                self._expiry[prefixes[i]] = now + _TTL_SECONDS[ttl]
        creation = written["5m"] + written["1h"]
        return {
            "input_tokens": running - read - creation,
            "cache_creation_input_tokens": creation,
            "cache_read_input_tokens": read,
            "cache_creation": {
                "ephemeral_5m_input_tokens": written["5m"],
                "ephemeral_1h_input_tokens": written["1h"],
            },
        }


def _ttl(control: dict[str, Any] | None) -> str:
    return "1h" if control and control.get("ttl") == "1h" else "5m"
