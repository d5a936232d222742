"""The client agentkit creates when an agent has none: the SDK's, with missing credentials named.

The SDK only notices missing credentials when it builds a request, and raises a `TypeError` from
deep inside its header code. The client made here carries a middleware (the SDK's public hook,
run before each attempt is built) that raises agentkit's `MissingAPIKey` instead, with what to
set. It raises there, not at construction, so an error found before any request (an undefined
template variable, a bad argument) is still the one reported.
"""

from __future__ import annotations

from typing import Any

import anthropic  # this module is imported only when a client is made, never by `import agentkit`

from .errors import MissingAPIKey

__all__ = ["NO_API_KEY", "default_client"]

NO_API_KEY = (
    "No Anthropic API key: export ANTHROPIC_API_KEY=sk-ant-... (and ANTHROPIC_BASE_URL for another "
    "endpoint), or give the agent client=anthropic.AsyncAnthropic(api_key=...); for an offline "
    "playground, run `agentkit dev-server` and export the two lines it prints"
)


def default_client() -> anthropic.AsyncAnthropic:
    """An `AsyncAnthropic` configured from the environment, as the SDK resolves it.

    Its requests raise `MissingAPIKey` (a `ConfigurationError`), before anything is sent, when
    the SDK found no API key, auth token, profile or other credential.
    """
    client = anthropic.AsyncAnthropic()
    if not _has_credentials(client):
        client = client.with_options(middleware=[_NoCredentials()])
    return client


def _has_credentials(client: anthropic.AsyncAnthropic) -> bool:
    # `_token_cache` is the SDK's holder for profile and workload-identity credentials (set when a
    # profile or the federation variables were found); it has no public name in anthropic 2.10-2.14.
    return bool(client.api_key or client.auth_token or getattr(client, "_token_cache", None) is not None)


class _NoCredentials(anthropic.Middleware):
    """Raises `MissingAPIKey` in place of every request attempt."""

    async def handle_async(self, request: Any, call_next: Any) -> Any:
        raise MissingAPIKey(NO_API_KEY)
