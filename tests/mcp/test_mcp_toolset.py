"""An MCP server's tools as agentkit tools, against the test server run in-process."""

from __future__ import annotations

from typing import Any

import anyio
import pytest
from mcp_helpers import call
from mcp_test_server import build

from agentkit import ToolDefinitionError
from agentkit.mcp import MCPServer, MCPServerError
from agentkit.tools import ToolResult

pytestmark = pytest.mark.anyio


async def test_tools_are_listed_with_the_servers_names_descriptions_and_schemas() -> None:
    async with MCPServer.in_process(build()) as server:
        tools = await server.list_tools()

    by_name = {t.name: t for t in tools}
    assert "add" in by_name
    assert "fresh" not in by_name
    add = by_name["add"].to_param()
    assert add["description"] == "Add two integers."
    assert add["input_schema"]["properties"]["a"]["type"] == "integer"
    assert add["input_schema"]["required"] == ["a", "b"]
    assert "text_upper" in by_name  # 'text.upper' made valid for the Messages API
    assert by_name["add"].idempotent is True  # from the server's readOnlyHint
    assert by_name["fail"].idempotent is False


async def test_a_prefix_and_a_filter_choose_what_the_model_sees() -> None:
    async with MCPServer.in_process(build(), prefix="calc_", filter=["add", "text.upper"]) as server:
        assert [t.name for t in await server.list_tools()] == ["calc_add", "calc_text_upper"]
        assert (await call(await server.list_tools(), "calc_text_upper", {"text": "hi"})).content == "HI"
    readonly = MCPServer.in_process(build(), filter=lambda t: bool(t.annotations and t.annotations.read_only_hint))
    async with readonly:
        assert [t.name for t in await readonly.list_tools()] == ["add"]


async def test_the_tool_list_is_fetched_once_and_again_after_list_changed() -> None:
    async with MCPServer.in_process(build()) as server:
        first = await server.list_tools()
        assert [id(t) for t in await server.list_tools()] == [id(t) for t in first]  # the cached list

        version = server.tools_version
        assert (await call(first, "grow", {})).content == "grown"
        with anyio.fail_after(10):
            await server.tools_changed(after=version)

        names = [t.name for t in await server.list_tools()]
        assert names[-1] == "fresh"
        assert (await call(await server.list_tools(), "fresh", {})).content == "so fresh"


async def test_calls_return_text_images_resources_and_structured_content() -> None:
    async with MCPServer.in_process(build()) as server:
        tools = await server.list_tools()
        assert await call(tools, "add", {"a": 2, "b": 3}) == ToolResult("5")
        image = await call(tools, "pixel", {})
        assert image.content == [
            {
                "type": "image",
                "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgoAAAAAAAAAAA=="},
            }
        ]
        assert (await call(tools, "document", {})).content == [
            {"type": "text", "text": "Here are the notes."},
            {"type": "text", "text": "[resource file:///notes.txt]\nthe notes"},
        ]
        weather = await call(tools, "weather", {"city": "Oslo"})
        assert not weather.is_error
        assert '"celsius": 18' in str(weather.content)


async def test_arguments_are_checked_against_the_servers_schema_before_the_call() -> None:
    async with MCPServer.in_process(build()) as server:
        result = await call(await server.list_tools(), "add", {"a": "two"})

    assert result.is_error
    assert result.content == (
        "Invalid arguments for tool 'add':\n"
        "- (input): 'b' is a required property\n"
        "- a: 'two' is not of type 'integer'\n"
        "Fix these and call the tool again."
    )


async def test_an_mcp_error_result_is_an_error_result_with_its_message() -> None:
    async with MCPServer.in_process(build()) as server:
        result = await call(await server.list_tools(), "fail", {"reason": "the disk is full"})

    assert result.is_error
    assert "cannot do it: the disk is full" in str(result.content)


async def test_parallel_calls_to_one_server_run_concurrently() -> None:
    async with MCPServer.in_process(build()) as server:
        tools = await server.list_tools()
        results: list[ToolResult] = []

        async def meet() -> None:
            results.append(await call(tools, "meet", {"count": 3}))

        with anyio.fail_after(10):  # one after another, the first call would wait for ever
            async with anyio.create_task_group() as group:
                for _ in range(3):
                    group.start_soon(meet)

    assert results == [ToolResult("met")] * 3


async def test_timeouts_per_server_and_per_tool() -> None:
    async with MCPServer.in_process(build(), timeout=30, timeouts={"hang": 0.05}) as server:
        tools = {t.name: t for t in await server.list_tools()}
        assert tools["add"].timeout == 30
        result = await tools["hang"].run({}, None)  # type: ignore[arg-type]
        assert result == ToolResult("Tool 'hang' timed out after 0.05s.", is_error=True)
        assert await call(list(tools.values()), "add", {"a": 1, "b": 1}) == ToolResult("2")  # the session goes on


async def test_requires_approval_is_passed_to_every_tool() -> None:
    def policy(name: str, arguments: dict[str, Any]) -> bool:
        return name == "add" and arguments.get("a", 0) > 100

    async with MCPServer.in_process(build(), requires_approval=policy) as server:
        add = next(t for t in await server.list_tools() if t.name == "add")
    approval = add.requires_approval
    assert approval({"a": 1000, "b": 1}) is True
    assert approval({"a": 1, "b": 1}) is False

    async with MCPServer.in_process(build(), requires_approval=True) as server:
        assert all(t.requires_approval is True for t in await server.list_tools())


async def test_using_a_server_that_is_not_entered_says_how() -> None:
    server = MCPServer.in_process(build(), name="calc")
    with pytest.raises(MCPServerError, match=r"MCP server 'calc' is not running: use it inside `async with server:`"):
        await server.list_tools()
    async with server:
        tools = await server.list_tools()
    result = await call(tools, "add", {"a": 1, "b": 2})
    assert result.is_error
    assert "MCP server 'calc' is not running" in str(result.content)


async def test_tools_that_clash_once_made_valid_are_a_definition_error() -> None:
    app = build()
    app.add_tool(lambda: "x", name="text_upper", description="Clashes with text.upper once sanitised.")
    async with MCPServer.in_process(app, name="clashy") as server:
        with pytest.raises(ToolDefinitionError, match=r"lists tools 'text.upper' and 'text_upper'.*filter="):
            await server.list_tools()


def test_bad_arguments_fail_when_the_server_is_made() -> None:
    with pytest.raises(ToolDefinitionError, match="filter= takes a list of tool names"):
        MCPServer.in_process(build(), filter="add")
    with pytest.raises(ToolDefinitionError, match="prefix must be a non-empty string"):
        MCPServer.in_process(build(), prefix="")
