"""Defects the random mixes of `test_property_mixes.py` found, each shrunk to a few lines of public API."""

from __future__ import annotations

import pytest

from agentkit import Agent, tool
from agentkit.testing import Fault, MessagesServer, Reply, tool_use

pytestmark = pytest.mark.anyio


@tool
def work(n: int) -> str:
    """Do some work."""
    return f"work {n} done"


@pytest.mark.parametrize("fault", [Fault.end_stream(), Fault.close_stream()], ids=str)
async def test_a_non_streaming_json_body_cut_short_is_retried(messages_server: MessagesServer, fault: Fault) -> None:
    # The body is whole by HTTP's framing but its JSON is cut: the SDK's decoder raised
    # json.JSONDecodeError straight out of `agent.run`, not even an APIError.
    messages_server.script(Reply([tool_use("work", {"n": 1})]), fault, Reply.text("Done."))
    agent = Agent(model="claude-haiku-4-5", tools=[work], client=messages_server.client())

    result = await agent.run("Work.")

    assert result.output == "Done."
    assert len(messages_server.requests) == 3
