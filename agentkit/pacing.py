"""Pacing: requests wait for room in the API's rate-limit buckets instead of running into 429s.

The Messages API reports where a client stands on every response, per model, in
`anthropic-ratelimit-{requests,tokens,input-tokens,output-tokens}-{limit,remaining,reset}`: the
bucket's size, what is left (token counts rounded to the nearest thousand), and when it will be
full again (RFC 3339). The buckets refill continuously. Input tokens are charged at the start
(cache reads do not count), output tokens are reserved from `max_tokens` at the start and settled
to the actual count at the end. A 429 says how long to wait in `retry-after`.

A `Pacer` (one per client base URL and model, from `pacer_for`) keeps a local copy of each bucket:

- before a request it waits, first in, first out, until every known bucket has room for the
  request's estimated input tokens, its `max_tokens` and one request, then reserves them;
- after the response it re-reads each bucket from the headers (what was left when the server
  admitted this request, plus the refill since, minus what was reserved since), learns each
  bucket's refill rate from `limit`, `remaining` and `reset` (never an assumed 60-second minute),
  and settles the output reservation to the actual usage;
- a 429 holds everyone back until its `retry-after` has passed.

With no rate-limit headers (another server) it never delays, beyond this: until the first response
from a base URL and model says whether it sends headers at all, one request goes at a time (so a
fan-out of a thousand runs does not start with a thousand requests no bucket could hold). A wait
holds nothing another run could use (nothing is reserved until the wait is over), and a cancelled
wait leaves no trace.

`RunPacing` is what one run uses: it estimates each request, records the time waited (a span
event `agentkit.pacing.wait`, the histogram `agentkit.pacing.wait.duration`, its own `seconds`),
and, once a server is known to pace, sends with the SDK's retries off so that a 429 is retried by
agentkit after `retry-after` and through the pacer, without the SDK's own retry stacking on top.

This module imports neither the SDK nor OpenTelemetry until they are needed.
"""

from __future__ import annotations

from ._pacing.headers import BUCKETS, Bucket, RateLimitHeaders, parse_headers
from ._pacing.pacer import Pacer, Slot, pacer_for, registry
from ._pacing.run import PacedRequest, RunPacing, no_retry_clients

__all__ = [
    "BUCKETS",
    "Bucket",
    "Pacer",
    "PacedRequest",
    "RateLimitHeaders",
    "RunPacing",
    "Slot",
    "pacer_for",
    "parse_headers",
    "reset",
]


def reset() -> None:
    """Forget every pacer and what it learned (for tests)."""
    registry.clear()
    no_retry_clients.clear()
