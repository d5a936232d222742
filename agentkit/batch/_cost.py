"""What a batch job costs: the model's list price (`agentkit.usage`), halved for batches.

Cache reads cost 0.1x the input price and writes 1.25x (5-minute entries) or 2x (1-hour ones);
`Usage.cache_write_tokens` counts both, so the 1-hour share is kept apart (`cache_write_1h`) and
charged the difference. The batch discount applies to every token, cached or not.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ..usage import Price, Usage, price_of

__all__ = ["BATCH_DISCOUNT", "Spend", "batch_cost"]

BATCH_DISCOUNT = 0.5  # `Price.batch`'s default: what the API charges; a `Price` of your own may differ


def batch_cost(
    usage: Usage, model: str, *, cache_write_1h: int = 0, prices: Mapping[str, Price] | None = None, batch: bool = True
) -> float | None:
    """The cost in US dollars of `usage` on `model`, or None when no price is known.

    Args:
        usage: Tokens used.
        model: The model id, priced by `agentkit.usage.price_of`.
        cache_write_1h: How many of `usage.cache_write_tokens` were 1-hour cache writes.
        prices: A price table instead of `agentkit.usage.PRICES`.
        batch: Apply the Message Batches discount (False: the live price).
    """
    price = price_of(model, prices)
    if price is None:
        return None
    one_hour_extra = price.cache_write_1h - price.cache_write_5m  # the price's own multipliers
    full = price.cost(usage) + one_hour_extra * cache_write_1h * price.input / 1_000_000
    return full * (price.batch if batch else 1.0)


@dataclass(frozen=True)
class Spend:
    """Prices a job's usage; `max_cost` caps it (None: no cap).

    Args:
        model: The model the job runs.
        prices: A price table instead of `agentkit.usage.PRICES`.
        max_cost: US dollars after which no new batch is submitted.
    """

    model: str
    prices: Mapping[str, Price] | None = None
    max_cost: float | None = None

    def cost(self, usage: Usage, cache_write_1h: int = 0) -> float:
        """The batch price of `usage`; 0 for a model without a known price."""
        return batch_cost(usage, self.model, cache_write_1h=cache_write_1h, prices=self.prices) or 0.0

    def live_cost(self, usage: Usage, cache_write_1h: int = 0) -> float:
        """The live (undiscounted) price of `usage`, as for the cache-warming requests."""
        return batch_cost(usage, self.model, cache_write_1h=cache_write_1h, prices=self.prices, batch=False) or 0.0

    def prompt_cost(self, tokens: int) -> float:
        """The batch price of `tokens` prompt tokens sent uncached (an upper bound for the next batch)."""
        return self.cost(Usage(input_tokens=tokens))

    def known(self) -> bool:
        """Whether the model has a price."""
        return price_of(self.model, self.prices) is not None
