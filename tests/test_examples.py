"""The examples run offline, as `make demo` runs them for a newcomer with no API key."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def run_example(name: str) -> str:
    env = {k: v for k, v in os.environ.items() if k != "ANTHROPIC_API_KEY"}
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / name)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_demo_shows_the_whole_loop_offline() -> None:
    pytest.importorskip("mcp.types", reason="the demo's MCP example needs agentkit[mcp]")
    out = run_example("demo.py")
    assert "offline, scripted model" in out
    assert '-> get_weather({"city": "Paris"})' in out
    assert '-> get_weather({"city": "Tokyo"})' in out
    assert "output: 'Paris: 18°C, light rain; Tokyo: 24°C, clear.'" in out
    assert "-> order_status" in out
    assert "output: 'Your order A-1001 is shipped, arriving Thursday.'" in out
    assert "usage: 2 requests" in out
    assert "- order_id: String should match pattern" in out  # the extraction's validation retry
    assert "output: Ticket(order_id='A-1001', product='kettle'" in out
    # The YAML agent, run by the CLI.
    assert "$ agentkit validate examples/agents/support.yaml" in out
    assert "examples/agents/support.yaml: ok (agent 'support', model claude-haiku-4-5, tools: order_status" in out
    assert '-> order_status({"order_id": "A-1002"})' in out  # the tool call, shown by --verbose
    assert "Your order is out for delivery today." in out
    assert "A kettle can be returned within 60 days" in out  # the prompt piped on stdin
    # The traced workflow: the weather agent's run nests inside the planner's tool call, in one tree.
    tree = out[out.index("=== spans ===") :].splitlines()
    assert [line.split()[0:2] for line in tree[1:5]] == [
        ["POST", "/trips"],
        ["invoke_agent", "trip_planner"],
        ["chat", "claude-sonnet-4-6"],
        ["execute_tool", "weather"],
    ]
    assert tree[5].split()[:2] == ["invoke_agent", "weather"]
    assert tree[5].index("invoke_agent") > tree[4].index("execute_tool")  # indented: a child
    # The MCP server's tool, called beside a Python tool; the server ran as a subprocess.
    assert '-> notes_search_notes({"query": "deploys"})' in out
    assert "<- deploys: Deploys go out on Tuesdays and Thursdays, never on Fridays." in out
