"""Token usage summed over a run, cache reads and writes kept apart because they cost differently."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class Usage:
    """Tokens and requests, summed over every model call of a run.

    `input_tokens` excludes cached tokens, as the API reports it: the prompt a request sent is
    `input_tokens + cache_read_tokens + cache_write_tokens`.
    """

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    requests: int = 0

    @property
    def prompt_tokens(self) -> int:
        """Every input token sent, cached or not."""
        return self.input_tokens + self.cache_read_tokens + self.cache_write_tokens

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.output_tokens

    def add(self, other: Usage) -> None:
        """Add `other` into this usage in place."""
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens
        self.cache_read_tokens += other.cache_read_tokens
        self.cache_write_tokens += other.cache_write_tokens
        self.requests += other.requests

    def __add__(self, other: Usage) -> Usage:
        total = Usage(
            self.input_tokens, self.output_tokens, self.cache_read_tokens, self.cache_write_tokens, self.requests
        )
        total.add(other)
        return total

    @classmethod
    def from_response(cls, usage: Any) -> Usage:
        """One request's usage from an SDK `Usage` (fields the API left out count as 0)."""
        return cls(
            input_tokens=usage.input_tokens or 0,
            output_tokens=usage.output_tokens or 0,
            cache_read_tokens=usage.cache_read_input_tokens or 0,
            cache_write_tokens=usage.cache_creation_input_tokens or 0,
            requests=1,
        )


@dataclass(frozen=True)
class Price:
    """US dollars per million tokens. Cache writes cost 1.25x input (5 minutes) or 2x (1 hour); reads 0.1x."""

    input: float
    output: float

    def cost(self, usage: Usage) -> float:
        """The cost of `usage`, counting every cache write at the 5-minute rate."""
        tokens = usage.input_tokens + 1.25 * usage.cache_write_tokens + 0.1 * usage.cache_read_tokens
        return (tokens * self.input + usage.output_tokens * self.output) / 1_000_000


# Public list prices by model family, newest first; a model id matches the first prefix it starts with.
PRICES: dict[str, Price] = {
    "claude-opus-4-0": Price(15.0, 75.0),
    "claude-opus-4-1": Price(15.0, 75.0),
    "claude-opus-4-2025": Price(15.0, 75.0),  # the dated ids of Opus 4
    "claude-opus": Price(5.0, 25.0),
    "claude-sonnet": Price(3.0, 15.0),
    "claude-3-5-haiku": Price(0.8, 4.0),
    "claude-haiku": Price(1.0, 5.0),
}


def price_of(model: str, prices: dict[str, Price] | None = None) -> Price | None:
    """The price of `model` from `prices` (default `PRICES`), by the longest matching prefix."""
    table = PRICES if prices is None else prices
    matches = [prefix for prefix in table if model.startswith(prefix)]
    return table[max(matches, key=len)] if matches else None


@dataclass(frozen=True)
class UsageLimits:
    """Bounds on one run; a request that would pass one is not sent (`UsageLimitExceeded`).

    `input_tokens` bounds every prompt token sent, cached or not. The output of a request is not
    known before it, so `output_tokens` and `total_tokens` lower that request's `max_tokens` to
    what is left, and `cost_usd` counts what was spent plus the next prompt at the uncached price.
    """

    requests: int | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    total_tokens: int | None = None
    cost_usd: float | None = None
    prices: dict[str, Price] | None = None

    def check(self, used: Usage, *, next_prompt_tokens: int, model: str) -> str | None:
        """Why the next request must not be sent, or None."""
        if self.requests is not None and used.requests + 1 > self.requests:
            return f"requests: the next would be number {used.requests + 1}, over the limit of {self.requests}"
        prompt = used.prompt_tokens + next_prompt_tokens
        if self.input_tokens is not None and prompt > self.input_tokens:
            return f"input_tokens: about {prompt} with the next request, over the limit of {self.input_tokens}"
        if self.output_tokens is not None and used.output_tokens >= self.output_tokens:
            return f"output_tokens: {used.output_tokens} used of {self.output_tokens}"
        if self.total_tokens is not None and prompt + used.output_tokens >= self.total_tokens:
            return f"total_tokens: about {prompt + used.output_tokens} with the next request, limit {self.total_tokens}"
        if self.cost_usd is not None:
            price = price_of(model, self.prices)
            if price is None:
                return f"cost_usd: no price known for {model!r}; pass UsageLimits(prices={{...}})"
            cost = price.cost(used + Usage(input_tokens=next_prompt_tokens))
            if cost > self.cost_usd:
                return f"cost_usd: about ${cost:.4f} with the next request, over the limit of ${self.cost_usd}"
        return None

    def max_tokens(self, used: Usage, max_tokens: int, next_prompt_tokens: int) -> int:
        """`max_tokens` lowered so the answer cannot pass the output or total bound."""
        room = max_tokens
        if self.output_tokens is not None:
            room = min(room, self.output_tokens - used.output_tokens)
        if self.total_tokens is not None:
            room = min(room, self.total_tokens - used.total_tokens - next_prompt_tokens)
        return max(room, 1)
