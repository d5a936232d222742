"""pytest plugin (entry point `agentkit`): `messages_server` and `anthropic_client` fixtures.

Loaded into every pytest session of a project that installs agentkit, so it imports nothing heavy
at module level: the server and the SDK are imported when a fixture is first used.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    import anthropic

    from agentkit.testing import MessagesServer

_MARKER = "agentkit_allow_rejected"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"{_MARKER}: the test expects the messages_server to answer some requests with a 400"
    )


def _describe(server: MessagesServer) -> str:
    lines = [f"messages_server answered {len(server.rejected)} request(s) with a 400, as the real API would:"]
    for request, message in server.rejected:
        sent = server.requests if request.path == "/v1/messages" else server.count_requests
        number = next((n for n, r in enumerate(sent, 1) if r is request), "?")
        lines.append(f"  request #{number} {request.path}: {message}")
    lines.append(f"Mark the test @pytest.mark.{_MARKER} if these rejections are what it tests.")
    return "\n".join(lines)


@pytest.fixture(autouse=True)
def _agentkit_learned_facts() -> Iterator[None]:
    """Each test starts with nothing learned about models (prefill, output limits, token scale),
    and no history taken as checked."""
    from agentkit._checks import forget_checked
    from agentkit._loop._learned import LEARNED

    LEARNED.reset()
    forget_checked()
    yield
    LEARNED.reset()
    forget_checked()


_CHECKED = pytest.StashKey[int]()  # how many rejections the call phase already reported


def _check_rejected(item: pytest.Item, server: MessagesServer) -> None:
    if server.rejected and item.get_closest_marker(_MARKER) is None:
        item.stash[_CHECKED] = len(server.rejected)
        pytest.fail(_describe(server), pytrace=False)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """Fail a test whose requests were rejected in its call phase, right after its body, so the
    failure reads as the test's own (and `xfail` applies to it) rather than as a teardown error.
    A body that failed anyway gets the rejections as a note on its exception."""
    server: MessagesServer | None = getattr(item, "funcargs", {}).get("messages_server")
    try:
        result = yield
    except BaseException as exc:
        if server is not None and server.rejected and item.get_closest_marker(_MARKER) is None:
            item.stash[_CHECKED] = len(server.rejected)
            exc.add_note(_describe(server))
        raise
    if server is not None:
        _check_rejected(item, server)
    return result


@pytest.fixture
def messages_server(request: pytest.FixtureRequest) -> Iterator[MessagesServer]:
    """A started `MessagesServer`; the test fails if any request was rejected, unless it is marked
    `agentkit_allow_rejected`, so every test shows its requests are ones the real API accepts."""
    from agentkit.testing import MessagesServer

    server = MessagesServer().start()
    try:
        yield server
    finally:
        server.stop()
    if server.errors:
        pytest.fail(f"a messages_server handler raised: {server.errors[0]!r}", pytrace=False)
    if len(server.rejected) > request.node.stash.get(_CHECKED, 0):  # rejected after the call phase
        _check_rejected(request.node, server)


@pytest.fixture
def anthropic_client(messages_server: MessagesServer) -> anthropic.AsyncAnthropic:
    """`messages_server.client()`: an `AsyncAnthropic` usable from any event loop, nothing to close."""
    return messages_server.client()
