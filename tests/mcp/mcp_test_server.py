"""A tiny MCP server, written with the `mcp` package itself, for the toolset tests.

`build()` gives a fresh server object (run in-process, or served over HTTP by a fixture);
`python mcp_test_server.py` serves one over stdio, as a real subprocess.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import anyio
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.utilities.types import Image
from mcp_types import EmbeddedResource, TextResourceContents, ToolAnnotations

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 8  # the bytes do not matter: the client passes them on as base64


def build(name: str = "test-server") -> MCPServer[Any]:
    app: MCPServer[Any] = MCPServer(name)
    arrived: dict[str, Any] = {"count": 0, "event": None}

    @app.tool(annotations=ToolAnnotations(read_only_hint=True))
    def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    @app.tool(name="text.upper")
    def upper(text: str) -> str:
        """Upper-case a text (a name with a dot, which the Messages API does not allow)."""
        return text.upper()

    @app.tool()
    def fail(reason: str) -> str:
        """Always fails with the reason given."""
        raise ToolError(f"cannot do it: {reason}")

    @app.tool()
    def pixel() -> Image:
        """A PNG image."""
        return Image(data=PNG, format="png")

    @app.tool()
    def document() -> list[Any]:
        """An embedded text resource and a sentence."""
        resource = TextResourceContents(uri="file:///notes.txt", mime_type="text/plain", text="the notes")
        return ["Here are the notes.", EmbeddedResource(type="resource", resource=resource)]

    @app.tool()
    def weather(city: str) -> dict[str, Any]:
        """Structured weather for a city."""
        return {"city": city, "celsius": 18}

    @app.tool()
    async def meet(count: int) -> str:
        """Returns once `count` calls of this tool are in flight at the same time."""
        if arrived["event"] is None:
            arrived["event"] = anyio.Event()
        arrived["count"] += 1
        if arrived["count"] >= count:
            arrived["event"].set()
        await arrived["event"].wait()
        return "met"

    @app.tool()
    async def hang() -> str:
        """Never returns (until the call is cancelled)."""
        await anyio.Event().wait()
        return "unreachable"

    @app.tool()
    def pid() -> int:
        """The server's process id."""
        return os.getpid()

    @app.tool()
    def header(name: str, ctx: Context) -> str:
        """The value of one HTTP request header (empty over stdio)."""
        return (ctx.headers or {}).get(name.lower(), "")

    @app.tool()
    def crash() -> str:
        """Kills the server process in the middle of the call."""
        os._exit(3)

    @app.tool()
    async def grow(ctx: Context) -> str:
        """Adds the tool `fresh` and announces that the tool list changed."""
        app.add_tool(lambda: "so fresh", name="fresh", description="A tool added at run time.")
        await ctx.notify_tools_changed()  # 2026-07-28 sessions: the subscriptions/listen stream
        if ctx.protocol_version is not None and ctx.protocol_version < "2026":
            await ctx.session.send_tool_list_changed()  # handshake-era sessions: a notification
        return "grown"

    return app


if __name__ == "__main__":
    build(sys.argv[1] if len(sys.argv) > 1 else "stdio-server").run()
