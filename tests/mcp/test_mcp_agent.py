"""MCP tools in a whole agent run: the scripted model calls them through the real SDK."""

from __future__ import annotations

import subprocess
import sys

import pytest
from mcp_helpers import exists
from mcp_test_server import build

import agentkit.tools
from agentkit import Agent, ToolDefinitionError
from agentkit.mcp import MCPServer
from agentkit.testing import MessagesServer, Reply, tool_use

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
    async with MCPServer.in_process(build(), prefix="calc", filter=["add"]) as server:
        # Until the agent enters toolsets itself, a run uses the tools listed inside the block.
        tools = [local_tool, *await server.list_tools()]
        agent = Agent(model="claude-haiku-4-5", tools=tools, client=messages_server.client())
        result = await agent.run("What is 20 + 22, and the weather in Oslo?")

    assert result.output == "42, and sunny."
    sent = messages_server.requests[0].body
    assert [t["name"] for t in sent["tools"]] == ["local_tool", "calc_add"]
    assert sent["tools"][1]["input_schema"]["required"] == ["a", "b"]
    results = result.messages[2]["content"]
    assert [(r["content"], r.get("is_error", False)) for r in results] == [("42", False), ("sunny in Oslo", False)]


async def test_a_server_crash_mid_run_is_an_error_result_and_the_run_goes_on(
    messages_server: MessagesServer, stdio_args: list[str]
) -> None:
    messages_server.script(
        Reply(content=[tool_use("crash", {})]),
        Reply(content=[tool_use("add", {"a": 1, "b": 2})]),
        Reply.text("The server restarted; 1 + 2 = 3."),
    )
    async with MCPServer.stdio(sys.executable, stdio_args, name="calc", filter=["crash", "add"]) as server:
        agent = Agent(model="claude-haiku-4-5", tools=await server.list_tools(), client=messages_server.client())
        result = await agent.run("Crash, then add.")

    assert result.output == "The server restarted; 1 + 2 = 3."
    crashed, added = result.messages[2]["content"][0], result.messages[4]["content"][0]
    assert crashed["is_error"] is True
    assert "MCP server 'calc' stopped during the call to 'crash'" in crashed["content"]
    assert added["content"] == "3"
    assert "is_error" not in added


async def test_parallel_mcp_calls_in_one_turn_run_concurrently(messages_server: MessagesServer) -> None:
    messages_server.script(Reply.tool_calls(("meet", {"count": 2}), ("meet", {"count": 2})), Reply.text("Both met."))
    async with MCPServer.in_process(build()) as server:
        agent = Agent(model="claude-haiku-4-5", tools=await server.list_tools(), client=messages_server.client())
        result = await agent.run("Meet twice.")  # one after the other, the first call would never return

    assert [r["content"] for r in result.messages[2]["content"]] == ["met", "met"]


async def test_an_image_result_reaches_the_model_as_an_image_block(messages_server: MessagesServer) -> None:
    messages_server.script(Reply(content=[tool_use("pixel", {})]), Reply.text("A tiny picture."))
    async with MCPServer.in_process(build()) as server:
        agent = Agent(model="claude-haiku-4-5", tools=await server.list_tools(), client=messages_server.client())
        await agent.run("Show me.")

    sent = messages_server.requests[1].body["messages"][2]["content"][0]
    assert sent["content"][0]["type"] == "image"
    assert sent["content"][0]["source"]["media_type"] == "image/png"


def test_import_agentkit_never_imports_mcp() -> None:
    code = (
        "import sys, agentkit; from agentkit import Agent, tool; import agentkit.tools, agentkit.spec; "
        "print(any(m == 'mcp' or m.startswith('mcp.') or m == 'agentkit.mcp' for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


toolsets = pytest.mark.skipif(
    not hasattr(agentkit.tools, "Toolset"), reason="the agent enters toolsets once the Toolset seam (issue 12) lands"
)


@toolsets
async def test_an_agent_with_a_server_among_its_tools_starts_and_stops_it_per_run(
    messages_server: MessagesServer, stdio_args: list[str]
) -> None:
    messages_server.script(Reply(content=[tool_use("calc_pid", {})]), Reply.text("Done."))
    server = MCPServer.stdio(sys.executable, stdio_args, prefix="calc")
    agent = Agent(model="claude-haiku-4-5", tools=[local_tool, server], client=messages_server.client())

    result = await agent.run("Which process?")

    pid = int(result.messages[2]["content"][0]["content"])
    assert not exists(pid)  # stopped and reaped with the run
    assert not server.running


@toolsets
async def test_a_name_clash_between_a_server_and_a_python_tool_names_both(messages_server: MessagesServer) -> None:
    def add(a: int, b: int) -> int:
        """A Python tool with an MCP tool's name."""
        return a + b

    messages_server.script(Reply.text("unused"))
    agent = Agent(model="claude-haiku-4-5", tools=[add, MCPServer.in_process(build(), name="calc")])
    agent.client = messages_server.client()
    with pytest.raises(ToolDefinitionError, match=r"add.*calc"):
        await agent.run("Add.")
