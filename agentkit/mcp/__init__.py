"""MCP servers as toolsets: `Agent(tools=[..., MCPServer.stdio("uvx", ["mcp-server-fetch"])])`.

Needs the optional extra: `pip install 'agentkit[mcp]'` (the official `mcp` package). `import
agentkit` never imports this module; importing it without the extra raises an ImportError that
says what to install.
"""

from __future__ import annotations

try:
    import mcp as _mcp  # noqa: F401 - fail here, with the fix, rather than deep inside a run
except ImportError as exc:  # pragma: no cover - the extra is installed in development
    raise ImportError("agentkit.mcp needs the `mcp` package: pip install 'agentkit[mcp]'") from exc

from ._server import MCPApprovalPolicy, MCPServer, MCPServerError, ToolFilter

__all__ = ["MCPApprovalPolicy", "MCPServer", "MCPServerError", "ToolFilter"]
