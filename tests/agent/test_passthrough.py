"""Messages API fields reach the API unchanged."""

from __future__ import annotations

import pytest

from agentkit import Agent
from agentkit.testing import MessagesServer, Reply

pytestmark = pytest.mark.anyio


async def test_sampling_stop_sequences_metadata_and_service_tier_reach_the_api(
    messages_server: MessagesServer,
) -> None:
    messages_server.script(Reply.text("ok"), Reply.text("ok"))
    agent = Agent(
        model="claude-sonnet-4-6",
        temperature=0.2,
        top_p=0.9,
        stop_sequences=["END"],
        request_params={"metadata": {"user_id": "u-1"}, "service_tier": "standard_only"},
        client=messages_server.client(),
    )

    await agent.run("hi")
    await Agent(model="claude-sonnet-4-6", request_params={"top_k": 5}, client=messages_server.client()).run("hi")

    first, second = (r.body for r in messages_server.requests)
    assert (first["temperature"], first["top_p"], first["stop_sequences"]) == (0.2, 0.9, ["END"])
    assert (first["metadata"], first["service_tier"]) == ({"user_id": "u-1"}, "standard_only")
    assert second["top_k"] == 5
