"""Token usage summed over a run, cache reads and writes kept apart because they cost differently."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal


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
    """US dollars per million tokens, as on Anthropic's price list.

    Cache writes cost 1.25x the input price with the 5-minute TTL and 2x with the 1-hour TTL;
    cache reads cost 0.1x; the Message Batches API halves every rate. The multipliers are the
    API's and the same for every model; override them for a negotiated price.

    Args:
        input: Uncached input tokens, per million.
        output: Output tokens (thinking included), per million.
        cache_write_5m: Multiplier of `input` for a cache write with the 5-minute TTL.
        cache_write_1h: Multiplier of `input` for a cache write with the 1-hour TTL.
        cache_read: Multiplier of `input` for a cache read (a hit or a refresh).
        batch: Multiplier of every rate for a request sent through the Message Batches API.
    """

    input: float
    output: float
    cache_write_5m: float = 1.25
    cache_write_1h: float = 2.0
    cache_read: float = 0.1
    batch: float = 0.5

    def cost(self, usage: Usage, *, cache_ttl: Literal["5m", "1h"] = "5m", batch: bool = False) -> float:
        """The cost of `usage` in US dollars.

        Args:
            usage: The tokens to price.
            cache_ttl: The TTL the cache writes used ("5m", the API's default, or "1h").
            batch: Price the requests as sent through the Message Batches API.
        """
        write = self.cache_write_1h if cache_ttl == "1h" else self.cache_write_5m
        tokens = usage.input_tokens + write * usage.cache_write_tokens + self.cache_read * usage.cache_read_tokens
        dollars = (tokens * self.input + usage.output_tokens * self.output) / 1_000_000
        return dollars * self.batch if batch else dollars


# Public list prices (Anthropic's pricing page), by model id prefix: a model id takes the longest
# prefix it starts with, so a dated id (claude-opus-4-1-20250805) finds its model and an id newer
# than the table falls back to its family's current price. Checked 2026-12-01 for the models listed
# by id; the bare family rows are a guess for models released after that, so pass your own table
# (`UsageLimits(prices=...)`, `price_of(model, prices)`) where the cost must be exact.
PRICES: dict[str, Price] = {
    "claude-opus-4-7": Price(5.0, 25.0),
    "claude-opus-4-6": Price(5.0, 25.0),
    "claude-opus-4-5": Price(5.0, 25.0),
    "claude-opus-4-1": Price(15.0, 75.0),
    "claude-opus-4-0": Price(15.0, 75.0),
    "claude-opus-4-2025": Price(15.0, 75.0),  # the dated ids of Opus 4 (claude-opus-4-20250514)
    "claude-3-opus": Price(15.0, 75.0),
    "claude-opus": Price(5.0, 25.0),
    "claude-sonnet-4-6": Price(3.0, 15.0),
    "claude-sonnet-4-5": Price(3.0, 15.0),
    "claude-sonnet-4": Price(3.0, 15.0),
    "claude-3-7-sonnet": Price(3.0, 15.0),
    "claude-sonnet": Price(3.0, 15.0),
    "claude-haiku-4-5": Price(1.0, 5.0),
    "claude-3-5-haiku": Price(0.8, 4.0),
    "claude-3-haiku": Price(0.25, 1.25),
    "claude-haiku": Price(1.0, 5.0),
}


def price_of(model: str, prices: Mapping[str, Price] | None = None) -> Price | None:
    """The price of `model`, by the longest matching prefix.

    Args:
        model: A model id, dated or not (`claude-sonnet-4-6`, `claude-opus-4-1-20250805`).
        prices: Your own table of prefix -> `Price`, used instead of `PRICES` (merge them with
            `{**PRICES, **mine}` to add to it).
    """
    table = PRICES if prices is None else prices
    matches = [prefix for prefix in table if model.startswith(prefix)]
    return table[max(matches, key=len)] if matches else None


def cost_of(
    usage: Usage,
    model: str,
    *,
    prices: Mapping[str, Price] | None = None,
    cache_ttl: Literal["5m", "1h"] = "5m",
    batch: bool = False,
) -> float | None:
    """What `usage` of `model` cost in US dollars, or None when no price is known for the model.

    Args:
        usage: The tokens to price, e.g. `result.usage`.
        model: The model id the requests went to.
        prices: Your own table of prefix -> `Price` instead of `PRICES`.
        cache_ttl: The TTL the cache writes used ("5m" or "1h").
        batch: The requests went through the Message Batches API (half price).
    """
    price = price_of(model, prices)
    return None if price is None else price.cost(usage, cache_ttl=cache_ttl, batch=batch)


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
    prices: Mapping[str, Price] | None = None

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
