"""Defects the random mixes of `test_property_mixes.py` found, each shrunk to a few lines of public API."""

from __future__ import annotations

import base64

import pytest

from agentkit import Agent, tool
from agentkit.testing import Fault, MessagesServer, Reply, estimate_tokens, tool_use

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


PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\x00" * 24).decode()
IMAGE = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}}


@tool
def fetch(n: int) -> str:
    """Fetch a page of text."""
    return "w" * 400


async def test_a_prompt_with_images_that_fits_the_budget_is_not_refused(messages_server: MessagesServer) -> None:
    # A text run calibrates the estimate; the images of the next prompt were then sized at the text's
    # rate (about 3,650 for what the server counts 3,008) and MemoryBudgetExceeded raised on the estimate,
    # since its 10% margin did not reach the budget: count_tokens was never asked.
    messages_server.script(Reply([tool_use("fetch", {"n": 1})]), Reply.text("Read."), Reply.text("Seen."))
    earlier = await Agent(model="claude-sonnet-4-6", tools=[fetch], client=messages_server.client()).run("Read it.")
    tight = Agent(model="claude-sonnet-4-6", memory_budget=3200, client=messages_server.client())

    result = await tight.run([{"type": "text", "text": "Look."}, IMAGE, IMAGE], history=earlier.messages)

    assert result.output == "Seen."
    assert estimate_tokens(messages_server.requests[-1].body) <= 3200
