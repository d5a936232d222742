"""Run by test_sessions.py in a subprocess that the test kills while a tool hangs."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import anyio

from agentkit import Agent, tool
from agentkit.sessions import SQLiteSessionStore

LOG = Path(os.environ["STEP_LOG"])


def step(n: int) -> str:
    """Do step n."""
    with LOG.open("a") as log:
        log.write(f"start {n}\n")
    if n == 2 and os.environ.get("HANG_AT_2"):
        time.sleep(3600)  # the test kills the process here
    with LOG.open("a") as log:
        log.write(f"done {n}\n")
    return f"step {n} done"


def make_agent() -> Agent:
    tools = [tool(step, idempotent=True)] if os.environ.get("IDEMPOTENT") else [step]
    import anthropic

    client = anthropic.AsyncAnthropic(base_url=os.environ["SERVER_URL"], api_key="sk-ant-test", max_retries=0)
    store = SQLiteSessionStore(os.environ["SESSION_DB"])
    return Agent(model="claude-sonnet-4-6", tools=tools, session_store=store, client=client)


async def main() -> None:
    await make_agent().run("Do steps 1 and 2.", session="job-1")


if __name__ == "__main__":
    anyio.run(main)
    sys.exit(0)
