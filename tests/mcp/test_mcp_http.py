"""The test server over streamable HTTP on a loopback port."""

from __future__ import annotations

import anyio
import pytest
from mcp_helpers import call

from agentkit.mcp import MCPServer, MCPServerError
from agentkit.tools import ToolResult

pytestmark = pytest.mark.anyio


async def test_list_call_headers_images_and_errors_over_http(http_url: str) -> None:
    server = MCPServer.http(http_url, headers={"X-Team": "travel desk"}, prefix="web_")
    async with server:
        tools = await server.list_tools()
        assert "web_add" in [t.name for t in tools]
        assert await call(tools, "web_add", {"a": 2, "b": 2}) == ToolResult("4")
        assert await call(tools, "web_header", {"name": "X-Team"}) == ToolResult("travel desk")
        assert (await call(tools, "web_pixel")).content[0]["type"] == "image"  # type: ignore[index]
        failed = await call(tools, "web_fail", {"reason": "no"})
        assert failed.is_error
        assert "cannot do it: no" in str(failed.content)


async def test_list_changed_over_http_refreshes_the_tools(http_url: str) -> None:
    async with MCPServer.http(http_url) as server:
        tools = await server.list_tools()
        version = server.tools_version
        await call(tools, "grow")
        with anyio.fail_after(10):
            await server.tools_changed(after=version)
        assert "fresh" in [t.name for t in await server.list_tools()]


async def test_a_url_nothing_listens_on_is_an_error_naming_the_server() -> None:
    import socket

    with socket.socket() as sock:  # a port that was free a moment ago, and is closed again now
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = MCPServer.http(f"http://127.0.0.1:{port}/mcp", name="nowhere", startup_timeout=10)
    with pytest.raises(MCPServerError, match=r"MCP server 'nowhere' could not be started"):
        async with server:
            pass
