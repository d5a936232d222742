"""Token usage summed over a run, cache reads and writes kept apart because they cost differently."""

from __future__ import annotations

from dataclasses import dataclass, fields
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
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    def __add__(self, other: Usage) -> Usage:
        total = Usage(**{f.name: getattr(self, f.name) for f in fields(self)})
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
