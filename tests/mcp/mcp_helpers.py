"""Helpers of the MCP tests: child processes read from /proc, and calling a listed tool."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from agentkit.tools import Tool, ToolResult


def children() -> set[int]:
    """Process ids whose parent is this process, alive or not yet reaped (zombies included)."""
    me, found = os.getpid(), set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:  # it exited while we looked
            continue
        fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) ": state, ppid, ...
        if int(fields[1]) == me:
            found.add(int(entry))
    return found


def exists(pid: int) -> bool:
    """Whether a process (a zombie included) with this id is in the process table."""
    return Path(f"/proc/{pid}").exists()


async def call(tools: list[Tool], name: str, arguments: dict[str, Any] | None = None) -> ToolResult:
    """Run one of `tools` as the loop would (MCP tools do not read the RunContext)."""
    tool = next(t for t in tools if t.name == name)
    return await tool.run(arguments or {}, None)  # type: ignore[arg-type]
