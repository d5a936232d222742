"""An agent that uses the tools of an MCP server, beside a Python tool.

The server (`mcp_notes_server.py`) runs as a subprocess for the length of the run: the run starts
it, lists its tools (the model sees them with the prefix `notes_`), and stops and reaps it at the
end. Run it: `python examples/mcp_demo.py` (offline without ANTHROPIC_API_KEY, against Claude with
it). Needs the extra: `pip install 'agentkit[mcp]'`.
"""

from __future__ import annotations

import datetime
import sys
from pathlib import Path

import anyio

from agentkit import Agent
from agentkit.mcp import MCPServer
from agentkit.testing import Reply, Request

try:
    from _runner import model_client, show
except ImportError:  # imported as examples.mcp_demo
    from examples._runner import model_client, show

NOTES_SERVER = Path(__file__).resolve().parent / "mcp_notes_server.py"


def today() -> str:
    """Today's date and weekday."""
    return datetime.date.today().strftime("%A %d %B %Y")


def scripted_model(request: Request) -> Reply:
    """Offline stand-in for Claude: search the notes and check the date, then answer from both."""
    if not request.tool_results:
        return Reply.tool_calls(("notes_search_notes", {"query": "deploys"}), ("today", {}))
    return Reply.text("Deploys go out on Tuesdays and Thursdays, never on Fridays.")


async def main() -> None:
    notes = MCPServer.stdio(sys.executable, [str(NOTES_SERVER)], name="notes", prefix="notes_")
    with model_client(scripted_model) as client:
        agent = Agent(
            name="ops",
            model="claude-haiku-4-5",
            system="You answer questions about how the team works. Use the notes; never guess.",
            tools=[today, notes],
            client=client,
        )
        result = await agent.run("Can I deploy today?")
        show("mcp: an agent using an MCP server's tools (stdio)", result)


if __name__ == "__main__":
    anyio.run(main)
