"""The runner's pure pieces: batches split at the API's limits, the request key, the batch price."""

from __future__ import annotations

from agentkit.batch import batch_cost
from agentkit.batch._coordinator import _Request
from agentkit.batch._requests import chunks, request_key, shared_prefix_only
from agentkit.usage import Usage


def test_requests_are_split_at_the_request_and_byte_limits_and_by_beta_flags() -> None:
    requests = [_Request(i, f"k{i}", {}, size=400) for i in range(5)]
    requests.append(_Request(9, "k9", {}, ("compact-2026-01-12",), size=10))

    by_count = chunks(requests, max_requests=2, max_bytes=10**9)
    by_size = chunks(requests, max_requests=100, max_bytes=1500)

    assert [[r.run for r in c] for c in by_count] == [[0, 1], [2, 3], [4], [9]]
    assert [[r.run for r in c] for c in by_size] == [[0, 1], [2, 3], [4], [9]]


def test_the_key_of_a_request_ignores_its_breakpoints_and_max_tokens() -> None:
    plain = {
        "model": "m",
        "max_tokens": 100,
        "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
    }
    marked = {
        **plain,
        "max_tokens": 50,
        "cache_control": {"type": "ephemeral"},
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "hi", "cache_control": {"type": "ephemeral"}}]}
        ],
    }
    other = {**plain, "messages": [{"role": "user", "content": "bye"}]}

    assert request_key(plain)[0] == request_key(marked)[0] != request_key(other)[0]
    assert shared_prefix_only(marked)["messages"] == plain["messages"]
    assert "cache_control" not in shared_prefix_only(marked)


def test_the_batch_price_is_half_the_live_one_with_one_hour_writes_at_twice_the_input_price() -> None:
    usage = Usage(input_tokens=1_000_000, output_tokens=1_000_000, cache_write_tokens=1_000_000)

    live = batch_cost(usage, "claude-sonnet-4-6", batch=False)
    batched = batch_cost(usage, "claude-sonnet-4-6", cache_write_1h=1_000_000)

    assert live == 3.0 + 15.0 + 1.25 * 3.0
    assert batched == (3.0 + 15.0 + 2.0 * 3.0) / 2
    assert batch_cost(usage, "gpt-4") is None
