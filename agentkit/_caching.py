"""Facts about Anthropic's prompt cache, shared by breakpoint placement and the offline server.

Kept apart from both so `agentkit.testing` can account caching like the service without importing
the pipeline (which loads the SDK), and so the two agree on the numbers.

Relied on (prompt caching guide, platform.claude.com/docs/en/build-with-claude/prompt-caching, and
reports quoting it; checked 2026-11):
- the prompt is cached in the order tools -> system -> messages; a `cache_control` breakpoint names
  the prefix ending at its block; at most 4 breakpoints, the top-level (automatic) one included;
- a request reads the longest prefix written earlier that ends at one of its breakpoints or at one
  of the ~20 blocks before one; each read refreshes the entry's lifetime (5 minutes, or 1 hour);
- with mixed TTLs, 1-hour breakpoints must come before 5-minute ones;
- a prefix shorter than the model's minimum cacheable length is silently not cached.
"""

from __future__ import annotations

from functools import lru_cache

__all__ = ["LOOKBACK_BLOCKS", "MAX_BREAKPOINTS", "MIN_CACHEABLE_TOKENS", "TTL_SECONDS", "min_cacheable_tokens"]

MAX_BREAKPOINTS = 4
LOOKBACK_BLOCKS = 20
TTL_SECONDS = {"5m": 300.0, "1h": 3600.0}

# Minimum cacheable prompt length by model-id prefix, most specific first. Sources disagree on a few
# families (Sonnet 4.6: 1024 or 2048; Opus 4.7: 2048 or 4096); there we take the lower figure: a
# breakpoint on a prefix that turns out too short costs nothing but a slot, while skipping one
# that would have cached costs a full-price prefix on every request.
MIN_CACHEABLE_TOKENS: tuple[tuple[str, int], ...] = (
    ("claude-opus-5", 512),
    ("claude-fable-5", 512),
    ("claude-mythos-5", 512),
    ("claude-sonnet-5", 1024),
    ("claude-opus-4-8", 1024),
    ("claude-opus-4-7", 2048),
    ("claude-opus-4-6", 4096),
    ("claude-opus-4-5", 4096),
    ("claude-haiku-4-5", 4096),
    ("claude-sonnet-4", 1024),
    ("claude-opus-4", 1024),
    ("claude-3-7-sonnet", 1024),
    ("claude-3-5-haiku", 2048),
    ("claude-3-haiku", 2048),
)
DEFAULT_MIN_CACHEABLE_TOKENS = 1024
"""For a model not in the table: the most common minimum. Too low only wastes a slot (see above)."""


@lru_cache(maxsize=256)
def min_cacheable_tokens(model: str) -> int:
    """The shortest prefix `model` caches, by the table above (1,024 for an unknown model)."""
    from ._models import family

    name = family(model)
    for prefix, tokens in MIN_CACHEABLE_TOKENS:
        if name.startswith(prefix):
            return tokens
    return DEFAULT_MIN_CACHEABLE_TOKENS
