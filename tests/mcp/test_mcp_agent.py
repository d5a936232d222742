"""MCP servers among an agent's tools, in whole runs: the scripted model calls their tools through
the real SDK, the run enters the servers, and leaves no process behind."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import anyio
import pytest
from mcp_helpers import children, exists
from mcp_test_server import build

from agentkit import Agent, ToolDefinitionError
from agentkit.hooks import RunHooks
from agentkit.mcp import MCPServer
from agentkit.testing import MessagesServer, Reply, Request, tool_use

pytestmark = pytest.mark.anyio


def local_tool(city: str) -> str:
    """A Python tool beside the MCP ones.

    Args:
        city: A city.
    """
    return f"sunny in {city}"


async def test_an_agent_calls_mcp_tools_beside_its_python_tools(messages_server: MessagesServer) -> None:
    messages_server.script(
        Reply.tool_calls(("calc_add", {"a": 20, "b": 22}), ("local_tool", {"city": "Oslo"})),
        Reply.text("42, and sunny."),
    )
    server = MCPServer.in_process(build(), prefix="calc_", filter=["add"])
    agent = Agent(model="claude-haiku-4-5", tools=[local_tool, server], client=messages_server.client())

    result = await agent.run("What is 20 + 22, and the weather in Oslo?")

    assert result.output == "42, and sunny."
    sent = messages_server.requests[0].body
    assert [t["name"] for t in sent["tools"]] == ["local_tool", "calc_add"]
    assert sent["tools"][1]["input_schema"]["required"] == ["a", "b"]
    results = result.messages[2]["content"]
    assert [(r["content"], r.get("is_error", False)) for r in results] == [("42", False), ("sunny in Oslo", False)]
    assert not server.running  # the run entered it and left it


async def test_each_run_starts_and_stops_a_stdio_server_and_async_with_agent_keeps_it(
    messages_server: MessagesServer, stdio_args: list[str]
) -> None:
    messages_server.script(*[Reply(content=[tool_use("pid", {})]), Reply.text("Done.")] * 3)
    server = MCPServer.stdio(sys.executable, stdio_args)
    agent = Agent(model="claude-haiku-4-5", tools=[server], client=messages_server.client())

    def pid_of(result: Any) -> int:
        return int(result.messages[2]["content"][0]["content"])

    alone = pid_of(await agent.run("Which process?"))
    assert not exists(alone)  # stopped and reaped with the run
    async with agent:
        first, second = pid_of(await agent.run("Which process?")), pid_of(await agent.run("And now?"))
        assert first == second  # one process for the block's runs
        assert exists(first)
    assert not exists(first)


async def test_concurrent_runs_share_one_server_process(messages_server: MessagesServer, stdio_args: list[str]) -> None:
    def model(request: Request) -> Reply:
        if not request.tool_results:
            return Reply(content=[tool_use("pid", {})])
        return Reply.text(str(request.tool_results[0]["content"]))

    messages_server.respond_with(model)
    server = MCPServer.stdio(sys.executable, stdio_args)
    agent = Agent(model="claude-haiku-4-5", tools=[server], client=messages_server.client())
    outputs: list[str] = []

    async def run() -> None:
        outputs.append((await agent.run("Which process?")).output)

    before = children()
    async with server:  # held here too, so the runs overlap with it running
        async with anyio.create_task_group() as group:
            for _ in range(3):
                group.start_soon(run)
        assert len(children() - before) == 1
    assert len(set(outputs)) == 1
    assert not exists(int(outputs[0]))


async def test_a_server_crash_mid_run_is_an_error_result_and_the_run_goes_on(
    messages_server: MessagesServer, stdio_args: list[str]
) -> None:
    messages_server.script(
        Reply(content=[tool_use("crash", {})]),
        Reply(content=[tool_use("add", {"a": 1, "b": 2})]),
        Reply.text("The server restarted; 1 + 2 = 3."),
    )
    server = MCPServer.stdio(sys.executable, stdio_args, name="calc", filter=["crash", "add"])
    agent = Agent(model="claude-haiku-4-5", tools=[server], client=messages_server.client())

    result = await agent.run("Crash, then add.")

    assert result.output == "The server restarted; 1 + 2 = 3."
    crashed, added = result.messages[2]["content"][0], result.messages[4]["content"][0]
    assert crashed["is_error"] is True
    assert "MCP server 'calc' stopped during the call to 'crash'" in crashed["content"]
    assert added["content"] == "3"
    assert "is_error" not in added


async def test_a_tool_added_mid_run_is_offered_on_the_next_turn(messages_server: MessagesServer) -> None:
    messages_server.script(
        Reply(content=[tool_use("grow", {})]), Reply(content=[tool_use("fresh", {})]), Reply.text("Fresh.")
    )
    server = MCPServer.in_process(build())
    agent = Agent(model="claude-haiku-4-5", tools=[server], client=messages_server.client())

    result = await agent.run("Grow, then use the new tool.")

    offered = [[t["name"] for t in r.body["tools"]] for r in messages_server.requests]
    assert "fresh" not in offered[0]
    assert "fresh" in offered[1]
    assert result.messages[4]["content"][0]["content"] == "so fresh"


async def test_parallel_mcp_calls_in_one_turn_run_concurrently(messages_server: MessagesServer) -> None:
    messages_server.script(Reply.tool_calls(("meet", {"count": 2}), ("meet", {"count": 2})), Reply.text("Both met."))
    agent = Agent(model="claude-haiku-4-5", tools=[MCPServer.in_process(build())], client=messages_server.client())

    with anyio.fail_after(30):
        result = await agent.run("Meet twice.")  # one after the other, the first call would never return

    assert [r["content"] for r in result.messages[2]["content"]] == ["met", "met"]


async def test_an_image_result_reaches_the_model_as_an_image_block(messages_server: MessagesServer) -> None:
    messages_server.script(Reply(content=[tool_use("pixel", {})]), Reply.text("A tiny picture."))
    agent = Agent(model="claude-haiku-4-5", tools=[MCPServer.in_process(build())], client=messages_server.client())

    await agent.run("Show me.")

    sent = messages_server.requests[1].body["messages"][2]["content"][0]
    assert sent["content"][0]["type"] == "image"
    assert sent["content"][0]["source"]["media_type"] == "image/png"


async def test_the_approval_policy_of_a_server_pauses_the_run(messages_server: MessagesServer) -> None:
    messages_server.script(Reply.tool_calls(("add", {"a": 1000, "b": 1}), ("add", {"a": 1, "b": 1})), Reply.text("ok"))
    server = MCPServer.in_process(build(), requires_approval=lambda name, args: args.get("a", 0) > 100)
    agent = Agent(model="claude-haiku-4-5", tools=[server], client=messages_server.client())
    asked: list[dict[str, Any]] = []

    async def approve(calls: Any) -> dict[str, bool | str]:
        asked.extend(call.input for call in calls)
        return {call.id: "Too large; ask a human." for call in calls}

    result = await agent.run("Add.", hooks=RunHooks(approve=approve))

    assert asked == [{"a": 1000, "b": 1}]  # only the call the policy flags
    denied, ran = result.messages[2]["content"]
    assert denied["is_error"] is True
    assert "Too large; ask a human." in str(denied["content"])
    assert ran["content"] == "2"


async def test_a_name_clash_between_a_server_and_a_python_tool_names_both(messages_server: MessagesServer) -> None:
    def add(a: int, b: int) -> int:
        """A Python tool with an MCP tool's name."""
        return a + b

    messages_server.script(Reply.text("unused"))
    server = MCPServer.in_process(build(), name="calc")
    agent = Agent(model="claude-haiku-4-5", tools=[add, server], client=messages_server.client())
    with pytest.raises(ToolDefinitionError, match=r"'add' comes from both agent 'agent' and calc"):
        await agent.run("Add.")


def test_import_agentkit_never_imports_mcp() -> None:
    code = (
        "import sys, agentkit; from agentkit import Agent, tool; import agentkit.tools, agentkit.spec; "
        "print(any(m == 'mcp' or m.startswith('mcp.') or m == 'agentkit.mcp' for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
