"""`make demo`: run every example agent, offline unless ANTHROPIC_API_KEY is set."""

from __future__ import annotations

import sys
from pathlib import Path

import anyio

sys.path.insert(0, str(Path(__file__).parent))

import extraction
import mcp_demo
import support
import tracing
import weather
import yaml_agent


async def main() -> None:
    for example in (weather, support, extraction, yaml_agent, tracing, mcp_demo):
        await example.main()


if __name__ == "__main__":
    anyio.run(main)
