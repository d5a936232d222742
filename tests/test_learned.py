"""What agentkit learns at run time has one owner, keyed by server and model, reset between tests."""

from __future__ import annotations

import pytest

from agentkit import Agent
from agentkit._loop._learned import LEARNED, key_of
from agentkit.testing import MessagesServer, Reply, text

pytestmark = pytest.mark.anyio


@pytest.mark.agentkit_allow_rejected
async def test_a_refused_prefill_is_learned_for_that_server_and_model_only() -> None:
    pieces = [Reply(content=[text("Once upon")], stop_reason="max_tokens"), Reply.text(" a time.")]
    with MessagesServer(pieces, prefill=False) as server, MessagesServer() as other:
        client = server.client()
        result = await Agent(model="claude-nova-1", client=client).run("Tell it.")
        assert result.output == "Once upon a time."
        assert key_of(client, "claude-nova-1") in LEARNED.no_prefill
        assert key_of(client, "claude-nova-2") not in LEARNED.no_prefill
        assert key_of(other.client(), "claude-nova-1") not in LEARNED.no_prefill


def test_each_test_starts_with_nothing_learned() -> None:
    # Runs after the test above in file order; the plugin's autouse fixture reset LEARNED in between.
    assert LEARNED.no_prefill == set()
    assert LEARNED.output_limits == {}
    assert LEARNED.scale(("", "claude-nova-1")) is None


def test_one_outlier_calibration_does_not_skew_the_seed() -> None:
    key = ("http://x", "claude-sonnet-4-6")
    for _ in range(5):
        LEARNED.calibrated(key, 1.1)
    LEARNED.calibrated(key, 4.9)  # e.g. a prompt that was mostly images
    assert LEARNED.scale(key) == pytest.approx(1.1)
