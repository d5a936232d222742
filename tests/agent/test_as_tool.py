"""Agents as tools: one agent delegates to another through a tool call."""

from __future__ import annotations

import pytest

from agentkit import Agent
from agentkit.testing import MessagesServer, Reply, Request, tool_use

pytestmark = pytest.mark.anyio


async def test_an_agent_calls_another_agent_as_a_tool(messages_server: MessagesServer) -> None:
    def model(request: Request) -> Reply:
        if request.system == "You translate to French.":
            return Reply.text(f"FR: {request.last_user_text}")
        if not request.tool_results:
            return Reply(content=[tool_use("translator", {"prompt": "Good morning"})])
        return Reply.text(f"The translation is {request.tool_results[0]['content']!r}.")

    messages_server.respond_with(model)
    client = messages_server.client()
    translator = Agent(name="translator", model="claude-haiku-4-5", system="You translate to French.", client=client)
    boss = Agent(model="claude-sonnet-4-6", tools=[translator.as_tool()], client=client)

    result = await boss.run("Say good morning in French.")

    assert result.output == "The translation is 'FR: Good morning'."
    assert [r.model for r in messages_server.requests] == ["claude-sonnet-4-6", "claude-haiku-4-5", "claude-sonnet-4-6"]
    assert result.usage.requests == 3  # the sub-agent's request counts in the caller's usage
    assert messages_server.requests[0].body["tools"][0] == {
        "name": "translator",
        "description": "Ask the translator agent to do a task and give back its answer.",
        "input_schema": {
            "type": "object",
            "properties": {"prompt": {"type": "string", "description": "The task, with all the context it needs."}},
            "required": ["prompt"],
        },
    }


async def test_a_bad_delegation_is_an_error_result(messages_server: MessagesServer) -> None:
    messages_server.script(Reply(content=[tool_use("helper", {"prompt": " "})]), Reply.text("ok"))
    helper = Agent(name="helper", model="claude-haiku-4-5", client=messages_server.client())
    boss = Agent(model="claude-sonnet-4-6", tools=[helper.as_tool()], client=messages_server.client())

    await boss.run("go")

    [error] = messages_server.requests[1].tool_results
    assert error == {
        "type": "tool_result",
        "tool_use_id": error["tool_use_id"],
        "content": "Give the task as a non-empty string in `prompt`.",
        "is_error": True,
    }


async def test_a_sub_agents_usage_travels_with_its_tool_result_once(messages_server: MessagesServer) -> None:
    from agentkit import RunHooks

    messages_server.script(
        Reply(content=[tool_use("helper", {"prompt": "sum it"})]), Reply.text("42"), Reply.text("It is 42.")
    )
    client = messages_server.client()
    helper = Agent(model="claude-haiku-4-5", name="helper", client=client)
    seen: list[object] = []

    async def tool_call(call: object, tool: object, run: object) -> object:
        result = await run()  # type: ignore[operator]
        seen.append(result.usage)  # a durable run checkpoints this with the result
        return result

    boss = Agent(model="claude-haiku-4-5", tools=[helper.as_tool()], client=client)
    result = await boss.run("What is the sum?", hooks=RunHooks(tool_call=tool_call, run_id="wf-1"))  # type: ignore[arg-type]

    assert result.usage.requests == 3  # two of the boss's, one of the helper's, counted once
    assert [getattr(u, "requests", None) for u in seen] == [1]
    assert result.run_id == "wf-1"
