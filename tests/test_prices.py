"""The price table: today's models, the cache and batch multipliers, and a table of one's own."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from agentkit import Price, Usage, UsageLimits
from agentkit.usage import PRICES, cost_of, price_of

MILLION = 1_000_000


def test_current_models_and_dated_ids_find_their_price() -> None:
    assert price_of("claude-opus-4-7") == price_of("claude-opus-4-6") == Price(5.0, 25.0)
    assert price_of("claude-opus-4-1-20250805") == price_of("claude-opus-4-20250514") == Price(15.0, 75.0)
    assert price_of("claude-sonnet-4-6") == price_of("claude-sonnet-4-5-20250929") == Price(3.0, 15.0)
    assert price_of("claude-haiku-4-5-20251001") == Price(1.0, 5.0)
    assert price_of("claude-3-5-haiku-latest") == Price(0.8, 4.0)
    assert price_of("claude-3-haiku-20240307") == Price(0.25, 1.25)
    assert price_of("gpt-4") is None


def test_cache_writes_by_ttl_reads_and_batches() -> None:
    price = Price(input=3.0, output=15.0)
    each = Usage(input_tokens=MILLION, cache_write_tokens=MILLION, cache_read_tokens=MILLION, output_tokens=MILLION)

    assert price.cost(each) == pytest.approx(3.0 + 3.75 + 0.30 + 15.0)  # writes at 1.25x (5 minutes)
    assert price.cost(each, cache_ttl="1h") == pytest.approx(3.0 + 6.0 + 0.30 + 15.0)  # writes at 2x
    assert price.cost(each, batch=True) == pytest.approx((3.0 + 3.75 + 0.30 + 15.0) / 2)


def test_your_own_prices() -> None:
    mine = {**PRICES, "claude-sonnet-4-6": Price(2.0, 10.0, cache_read=0.05), "my-proxy-model": Price(1.0, 1.0)}
    usage = Usage(input_tokens=MILLION, cache_read_tokens=MILLION)

    assert cost_of(usage, "claude-sonnet-4-6", prices=mine) == pytest.approx(2.0 + 0.10)
    assert cost_of(usage, "my-proxy-model", prices=mine) == pytest.approx(1.1)
    assert cost_of(usage, "my-proxy-model") is None  # not in the default table
    limits = UsageLimits(cost_usd=0.5, prices=mine)
    assert limits.check(Usage(), next_prompt_tokens=10, model="my-proxy-model") is None
    assert "no price known for 'other'" in (limits.check(Usage(), next_prompt_tokens=10, model="other") or "")


def test_lowest_constraints_pin_every_runtime_dependency_to_its_floor() -> None:
    root = Path(__file__).parent.parent
    out = subprocess.run(
        [sys.executable, str(root / ".ci" / "lowest_constraints.py"), str(root / "pyproject.toml")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()

    assert "opentelemetry-api==1.30" in out
    assert any(line.startswith("anthropic==") for line in out)
    assert all("==" in line and line.split("==")[1][0].isdigit() for line in out)
