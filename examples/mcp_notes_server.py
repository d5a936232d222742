"""A small MCP server, written with the official `mcp` package: the team's notes, searchable.

agentkit starts it as a subprocess (`examples/mcp_demo.py`); any MCP client can: `python
examples/mcp_notes_server.py` speaks MCP over stdin and stdout.
"""

from __future__ import annotations

from mcp.server.mcpserver import MCPServer
from mcp_types import ToolAnnotations

NOTES = {
    "deploys": "Deploys go out on Tuesdays and Thursdays, never on Fridays.",
    "on-call": "The on-call rota changes every Monday at 10:00; Priya is on call this week.",
    "kettles": "The office kettle is descaled on the first of each month.",
}

notes = MCPServer("notes")


@notes.tool(annotations=ToolAnnotations(read_only_hint=True))
def search_notes(query: str) -> str:
    """Search the team's notes; returns every note whose title or text mentions the query."""
    words = query.lower().split()
    found = [f"{title}: {text}" for title, text in NOTES.items() if any(w in f"{title} {text}".lower() for w in words)]
    return "\n".join(found) or f"No note mentions {query!r}."


@notes.tool()
def add_note(title: str, text: str) -> str:
    """Add a note (kept while the server runs)."""
    NOTES[title] = text
    return f"Noted under {title!r}."


if __name__ == "__main__":
    notes.run()  # stdio
