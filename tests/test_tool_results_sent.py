"""Tool results the API would refuse never reach it: through the real SDK against the validating server.

The `messages_server` fixture fails a test whose requests the server rejected, so each test below
shows the request carrying the tool's result is one the Messages API accepts.
"""

from __future__ import annotations

from typing import Any

import pytest

from agentkit import Agent, ToolError, tool
from agentkit.testing import MessagesServer, Reply, tool_use

pytestmark = pytest.mark.anyio


def _silent() -> str:
    raise ToolError("")


def _blocks_with_a_value() -> Any:
    return [{"type": "text", "value": 3}]


def _empty_text_block() -> Any:
    return [{"type": "text", "text": ""}]


def _undecodable_file_name() -> str:
    return b"report-caf\xe9.txt".decode("utf-8", "surrogateescape")


CASES = {
    "ToolError('')": (_silent, True, "Tool 'check' failed without saying why"),
    "blocks with a value": (_blocks_with_a_value, False, '[{"type":"text","value":3}]'),
    "an empty text block": (_empty_text_block, False, "Tool 'check' returned no content (only empty text)."),
    "a lone surrogate": (_undecodable_file_name, True, "Tool 'check' returned text that is not valid Unicode"),
}


@pytest.mark.parametrize("case", list(CASES))
async def test_the_result_sent_is_one_the_api_accepts(messages_server: MessagesServer, case: str) -> None:
    function, is_error, content = CASES[case]
    check = tool(function, name="check")
    messages_server.script(Reply([tool_use("check", {}, id="toolu_1")]), Reply.text("Noted."))
    agent = Agent(model="claude-sonnet-4-6", tools=[check], client=messages_server.client())

    result = await agent.run("check it")

    assert result.output == "Noted."
    sent = messages_server.requests[1].tool_result("toolu_1")
    assert sent is not None
    assert bool(sent.get("is_error")) is is_error
    assert str(sent["content"]).startswith(content)
    assert messages_server.rejected == []
