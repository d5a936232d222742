"""Bad input fails before any request is sent, with a message that names the thing and the fix."""

from __future__ import annotations

import socket

import pytest

from agentkit import Agent, InputError, PromptError, ToolDefinitionError, tool
from agentkit.testing import MessagesServer

pytestmark = pytest.mark.anyio


async def test_an_image_over_the_api_limit_fails_before_sending(messages_server: MessagesServer) -> None:
    big = "A" * (7 * 1024 * 1024)  # 5.25 MB decoded
    prompt = [{"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": big}}]
    agent = Agent(model="claude-sonnet-4-6", client=messages_server.client())

    with pytest.raises(InputError, match=r"prompt\[0\]: the image is 5\.2 MB, over the API's 5 MB limit"):
        await agent.run(prompt)

    assert messages_server.requests == []


async def test_an_unknown_image_type_fails_before_sending(messages_server: MessagesServer) -> None:
    prompt = [
        {"type": "text", "text": "look"},
        {"type": "image", "source": {"type": "base64", "media_type": "image/bmp", "data": "Qk0="}},
    ]
    with pytest.raises(InputError, match=r"prompt\[1\]: image media_type 'image/bmp' is not one of"):
        await Agent(model="claude-sonnet-4-6", client=messages_server.client()).run(prompt)
    assert messages_server.requests == []


def test_a_tool_whose_return_type_cannot_be_serialised_fails_at_definition() -> None:
    with pytest.raises(ToolDefinitionError, match=r"Tool 'connect' \(.*test_bad_input.py:\d+\): its return type"):

        @tool
        def connect(host: str) -> socket.socket:
            """Open a socket."""
            return socket.create_connection((host, 80))


async def test_a_template_that_does_not_render_fails_before_sending(messages_server: MessagesServer) -> None:
    agent = Agent(model="claude-sonnet-4-6", system="{{ 1 / 0 }}", client=messages_server.client())
    with pytest.raises(PromptError, match="division by zero"):
        await agent.run("hi")
    assert messages_server.requests == []
