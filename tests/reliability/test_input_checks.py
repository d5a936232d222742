"""Bad input fails before any request, naming the place and the fix (issues 13 R, 14.6)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from agentkit import Agent, InputError
from agentkit.testing import MessagesServer

pytestmark = pytest.mark.anyio

CALL = {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}}
RESULT = {"type": "tool_result", "tool_use_id": "toolu_1", "content": "ok"}


@pytest.mark.parametrize(
    ("history", "where"),
    [
        ([{"role": "user", "content": [RESULT]}], "history[0]"),
        (
            [
                {"role": "user", "content": "hi"},
                {"role": "assistant", "content": [CALL]},
                {"role": "user", "content": "x"},
            ],
            "history[1]",
        ),
        (
            [
                {"role": "user", "content": "a"},
                {"role": "assistant", "content": "b"},
                {"role": "assistant", "content": "c"},
            ],
            "history[2]",
        ),
        ([{"role": "system", "content": "be nice"}], "history[0]"),
    ],
)
async def test_an_invalid_history_is_refused_before_any_request(
    messages_server: MessagesServer, history: list[Any], where: str
) -> None:
    agent = Agent(model="claude-haiku-4-5", client=messages_server.client())
    with pytest.raises(InputError, match=re.escape(where)):
        await agent.run("go on", history=history)
    assert messages_server.requests == []


@pytest.mark.parametrize("prompt", ["", "   \n", []])
async def test_an_empty_prompt_is_refused(messages_server: MessagesServer, prompt: Any) -> None:
    with pytest.raises(InputError):
        await Agent(model="claude-haiku-4-5", client=messages_server.client()).run(prompt)
    assert messages_server.requests == []


async def test_a_lone_surrogate_in_a_prompt_or_a_variable_is_an_input_error(messages_server: MessagesServer) -> None:
    agent = Agent(model="claude-haiku-4-5", system="Hello {{ name }}", client=messages_server.client())
    with pytest.raises(InputError, match="surrogate"):
        await agent.run("caf\udce9", vars={"name": "x"})
    with pytest.raises(InputError, match=r"vars\.name.*surrogate"):
        await agent.run("hi", vars={"name": "\udce9"})
    assert messages_server.requests == []
