"""A YAML agent with tools, run by the `agentkit` CLI: examples/agents/support.yaml.

Run it: `python examples/yaml_agent.py` (offline without ANTHROPIC_API_KEY, against Claude with it).
Offline, the CLI finds the scripted model the way it finds any endpoint: through ANTHROPIC_BASE_URL.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import anyio

from agentkit.testing import MessagesServer, Reply, Request, tool_use

try:
    from _runner import online
except ImportError:  # imported as examples.yaml_agent
    from examples._runner import online

ROOT = Path(__file__).resolve().parent.parent
SPEC = "examples/agents/support.yaml"


def scripted_model(request: Request) -> Reply:
    """Offline stand-in for Claude: look up each order or product asked about, then answer."""
    if not request.tool_results:
        asked = request.last_user_text
        orders = re.findall(r"\b[A-Z]-\d{4}\b", asked)
        calls = [tool_use("order_status", {"order_id": o}) for o in orders]
        calls += [tool_use("return_policy", {"product": p}) for p in re.findall(r"return (?:a|my) (\w+)", asked)]
        return Reply(content=calls) if calls else Reply.text("How can I help?")
    answers = [str(r["content"]) for r in request.tool_results]
    if "returned" in answers[0]:
        return Reply.text(answers[0])
    return Reply.text(f"Your order is {answers[0]}.")


@contextmanager
def model_environment() -> Iterator[dict[str, str]]:
    """The CLI's environment: as it is with a key, else pointed at an offline scripted model."""
    if online():
        yield dict(os.environ)
        return
    with MessagesServer(scripted_model) as server:
        yield {**os.environ, "ANTHROPIC_BASE_URL": server.url, "ANTHROPIC_API_KEY": "sk-ant-offline"}


async def agentkit(*args: str, env: dict[str, str], stdin: str | None = None) -> None:
    """Run `agentkit ARGS` (as `python -m agentkit`, so no console script is needed) and show it."""
    shown = " ".join(shlex.quote(a) for a in args)
    print(f"  $ {'echo ' + shlex.quote(stdin) + ' | ' if stdin else ''}agentkit {shown}")
    done = await anyio.run_process(
        [sys.executable, "-m", "agentkit", *args],
        input=stdin.encode() if stdin else None,
        stderr=subprocess.STDOUT,
        cwd=ROOT,
        env=env,
        check=False,
    )
    for line in done.stdout.decode().splitlines():
        print(f"    {line}")
    if done.returncode:
        raise SystemExit(f"agentkit {shown} exited with {done.returncode}")


async def main() -> None:
    model = "Claude" if online() else "offline, scripted model"
    print(f"\n=== yaml: a YAML agent with tools, run by the agentkit CLI ({model}) ===")
    with model_environment() as env:
        await agentkit("validate", SPEC, env=env)
        await agentkit("run", SPEC, "Where is my order A-1002?", "--verbose", env=env)
        await agentkit("run", SPEC, env=env, stdin="Can I return a kettle?")


if __name__ == "__main__":
    anyio.run(main)
