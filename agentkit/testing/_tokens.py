"""Deterministic token estimates and the prompt cache of the loopback server.

No tokenizer ships for Claude, so the server counts about one token per four characters of each
block's JSON (`cache_control` left out, so placing a breakpoint never changes a count), at least
one per block, and a flat 1,500 per image or binary document. The numbers are not the real ones;
they are stable, so tests can assert them, and they grow with the prompt, so budgets can be tested.

The cache accounts like the service (prompt caching guide, platform.claude.com, as summarised in
`agentkit._caching`):
- the prompt is read in the order tools -> system -> messages, one block at a time (a tool
  definition, a system block, a message's content block; a string is one block);
- each `cache_control` breakpoint names the prefix ending at its block; the top-level
  `cache_control` (automatic caching) marks the last cacheable block (not a thinking block); a
  marker inside a `tool_result`'s content marks that `tool_result`;
- a request reads the longest prefix that was written earlier, is still live, and ends at one of
  its breakpoints or at one of the 20 blocks before one (`cache_read_input_tokens`); the read
  refreshes that entry's lifetime (5 minutes, or 1 hour for `ttl: "1h"`);
- each breakpoint after the read whose prefix reaches the model's minimum cacheable length is
  written (`cache_creation_input_tokens`, split by TTL in `cache_creation`); a shorter one is not;
- the cache is per model; `input_tokens` is what is neither read nor written.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from agentkit._caching import LOOKBACK_BLOCKS, TTL_SECONDS, min_cacheable_tokens
from agentkit._models import family

__all__ = ["IMAGE_TOKENS", "PromptCache", "block_tokens", "estimate_tokens", "output_tokens"]

IMAGE_TOKENS = 1_500
_CHARS_PER_TOKEN = 4


def _canonical(block: dict[str, Any]) -> str:
    """The block as the cache keys it: without `cache_control`, nested ones included."""
    plain = {k: v for k, v in block.items() if k != "cache_control"}
    if isinstance(plain.get("content"), list):
        plain["content"] = [
            {k: v for k, v in b.items() if k != "cache_control"} if isinstance(b, dict) else b for b in plain["content"]
        ]
    return json.dumps(
        plain,
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
    cacheable: bool = True


def _units(body: dict[str, Any]) -> list[_Unit]:
    units: list[_Unit] = []

    def add(prefix: str, raw: Any) -> None:
        block = _as_block(raw)
        control = block.get("cache_control")
        nested = block.get("content") if block.get("type") == "tool_result" else None
        for inner in nested if isinstance(nested, list) else ():
            if isinstance(inner, dict) and isinstance(inner.get("cache_control"), dict):
                control = control or inner["cache_control"]
        units.append(
            _Unit(
                prefix + _canonical(block),
                block_tokens(block),
                control if isinstance(control, dict) else None,
                block.get("type") not in ("thinking", "redacted_thinking"),
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
    """The prefixes written so far, per server, and the usage split they give each request.

    `min_cacheable_tokens`: None for each model's documented minimum (`agentkit._caching`), an int
    for every model, or a mapping of model-id prefixes to minimums (others keep the default).
    """

    def __init__(
        self,
        min_cacheable_tokens: int | Mapping[str, int] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.min_cacheable_tokens = min_cacheable_tokens
        self._clock = clock
        self._entries: dict[str, tuple[float, float]] = {}  # prefix hash -> (expiry, lifetime)

    def minimum(self, model: str) -> int:
        """The shortest prefix this cache writes for `model`."""
        given = self.min_cacheable_tokens
        if isinstance(given, int):
            return given
        model = family(model)  # Bedrock and Vertex AI ids meet the first-party table
        for prefix, tokens in sorted((given or {}).items(), key=lambda item: -len(item[0])):
            if model.startswith(prefix):
                return tokens
        return min_cacheable_tokens(model)

    def clear(self) -> None:
        """Forget every cached prefix (as if they all expired)."""
        self._entries.clear()

    def usage(self, body: dict[str, Any]) -> dict[str, Any]:
        """Input-side usage for `body`, recording what it writes to the cache."""
        units = _units(body)
        marks: list[tuple[int, str]] = [(i, _ttl(u.cache_control)) for i, u in enumerate(units) if u.cache_control]
        top = body.get("cache_control")
        last = next((i for i in range(len(units) - 1, -1, -1) if units[i].cacheable), -1)
        if isinstance(top, dict) and last >= 0 and units[last].cache_control is None:
            marks = sorted([*marks, (last, _ttl(top))])
        cumulative, prefixes = [], []
        running, digest = 0, hashlib.sha256(str(body.get("model")).encode())
        for unit in units:
            running += unit.tokens
            digest.update(b"\x00" + unit.key.encode())
            cumulative.append(running)
            prefixes.append(digest.hexdigest())
        now = self._clock()

        def live(i: int) -> bool:
            return self._entries.get(prefixes[i], (-math.inf, 0.0))[0] > now

        hit = -1
        for i, _ in marks:
            for p in range(i, max(hit, i - LOOKBACK_BLOCKS - 1), -1):
                if live(p):
                    hit = p
                    break
        read = cumulative[hit] if hit >= 0 else 0
        for p in {hit, *(i for i, _ in marks if i <= hit)}:
            if p >= 0 and live(p):
                expiry, lifetime = self._entries[prefixes[p]]
                self._entries[prefixes[p]] = (max(expiry, now + lifetime), lifetime)
        written = {"5m": 0, "1h": 0}
        covered, minimum = read, self.minimum(str(body.get("model")))
        for i, ttl in marks:
            if i > hit and cumulative[i] >= minimum and cumulative[i] > covered:
                written[ttl] += cumulative[i] - covered
                covered = cumulative[i]
                self._entries[prefixes[i]] = (now + TTL_SECONDS[ttl], TTL_SECONDS[ttl])
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
