"""Run by test_crash_resume.py in a subprocess that the test SIGKILLs at a random moment.

The agent has a session and four tools, two idempotent and two not, that the model calls in parallel.
Each tool appends `<pid> start <tool> <key>` to the side-effect file before its work and `<pid> done
<tool> <key>` after it, so the test counts what ran, in which process, and how far. Run as a script,
it also prints each marker (and `ready` before the run) on stdout, for the test to kill on.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

import anyio

from agentkit import Agent, tool
from agentkit.sessions import SQLiteSessionStore

SESSION = "crash-job"
PROMPT = "Send the emails, charge the cards, look everything up."
ANSWER = "All done."
ECHO = False  # print the markers on stdout (the subprocess only)


def mark(line: str) -> None:
    with Path(os.environ["SIDE_EFFECTS"]).open("a") as log:
        log.write(f"{os.getpid()} {line}\n")
    if ECHO:
        print(line, flush=True)


def effect(name: str, key: str, ms: int) -> str:
    mark(f"start {name} {key}")
    time.sleep(ms / 1000)  # the tool's work
    mark(f"done {name} {key}")
    return f"{name} {key} ok"


def send_email(key: str, ms: int) -> str:
    """Send an email (not safe to repeat)."""
    return effect("send_email", key, ms)


def charge(key: str, ms: int) -> str:
    """Charge a card (not safe to repeat)."""
    return effect("charge", key, ms)


@tool(idempotent=True)
def fetch(key: str, ms: int) -> str:
    """Fetch a page (safe to repeat)."""
    return effect("fetch", key, ms)


@tool(idempotent=True)
async def lookup(key: str, ms: int) -> str:
    """Look a record up (safe to repeat)."""
    mark(f"start lookup {key}")
    await anyio.sleep(ms / 1000)
    mark(f"done lookup {key}")
    return f"lookup {key} ok"


IDEMPOTENT = {"fetch", "lookup"}


def make_agent() -> Agent:
    import anthropic

    client = anthropic.AsyncAnthropic(base_url=os.environ["SERVER_URL"], api_key="sk-ant-test", max_retries=0)
    store = SQLiteSessionStore(os.environ["SESSION_DB"])
    tools: list[Any] = [send_email, charge, fetch, lookup]
    return Agent(model="claude-sonnet-4-6", tools=tools, session_store=store, client=client)


async def main() -> None:
    agent = make_agent()
    mark("ready")
    await agent.run(PROMPT, session=SESSION)
    mark("finished")


if __name__ == "__main__":
    ECHO = True
    anyio.run(main)
    sys.exit(0)
