"""`agentkit dev-server` and `python -m agentkit.testing serve`: the offline playground, in subprocesses
as a newcomer runs it (one shell serves, another exports its two lines and runs the CLI)."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from conftest import Files

SHOP_TOOLS = '''
def order_status(order_id: str) -> str:
    """Look up an order.

    Args:
        order_id: The order number.
    """
    return {"A-1002": "shipped"}.get(order_id, "unknown")
'''


class Playground:
    def __init__(self, process: subprocess.Popen[str], env: dict[str, str]) -> None:
        self.process = process
        self.env = env

    def agentkit(self, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "agentkit", *args],
            env=self.env,
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
        )


def _start(command: list[str]) -> Iterator[Playground]:
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None
    exports = [process.stdout.readline(), process.stdout.readline()]  # printed once it listens
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "OTEL_"))}
    for line in exports:
        assert line.startswith("export "), exports
        key, _, value = line.removeprefix("export ").strip().partition("=")
        env[key] = value
    try:
        yield Playground(process, env)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture
def playground() -> Iterator[Playground]:
    yield from _start([sys.executable, "-m", "agentkit.testing", "serve", "--port", "0"])


def test_the_printed_lines_point_the_cli_at_the_playground(playground: Playground) -> None:
    assert set(playground.env) >= {"ANTHROPIC_BASE_URL", "ANTHROPIC_API_KEY"}
    assert playground.env["ANTHROPIC_BASE_URL"].startswith("http://127.0.0.1:")

    answer = playground.agentkit("run", "-m", "claude-haiku-4-5", "what is 2+2")
    typo = playground.agentkit("run", "-m", "claude-haiku-4.5", "what is 2+2")

    assert (answer.returncode, answer.stdout, answer.stderr) == (0, "echo: what is 2+2\n", "")
    assert typo.returncode == 1
    assert typo.stderr.startswith("Error: APIError 404 not_found_error: model: claude-haiku-4.5 (request_id req_")
    assert "did you mean 'claude-haiku-4-5'" in typo.stderr


def test_the_playground_calls_a_named_tool_and_fills_a_typed_output(playground: Playground, files: Files) -> None:
    files.write("shop_tools.py", SHOP_TOOLS)
    files.write("support.yaml", "model: claude-haiku-4-5\ntools: [shop_tools:order_status]\n")
    files.write(
        "triage.yaml",
        "model: claude-haiku-4-5\noutput:\n  type: object\n  properties: {urgent: {type: boolean}}\n"
        "  required: [urgent]\n",
    )

    tool = playground.agentkit("run", "support.yaml", "-v", "Use order_status for order A-1002", cwd=files.root)
    typed = playground.agentkit("run", "triage.yaml", "The kettle leaks", cwd=files.root)

    assert tool.returncode == 0, tool.stderr
    assert tool.stdout == "echo: the tools answered: shipped\n"  # not a terminal: the final answer only
    assert tool.stderr.splitlines()[:2] == ['-> order_status({"order_id": "A-1002"})', "<- shipped"]
    assert (typed.returncode, json.loads(typed.stdout)) == (0, {"urgent": True})


def test_dev_server_is_the_same_playground_and_stops_on_ctrl_c() -> None:
    for playground in _start([sys.executable, "-m", "agentkit", "dev-server", "--port", "0", "--reply", "Hi there."]):
        first = playground.agentkit("run", "-m", "claude-sonnet-4-6", "hello")
        second = playground.agentkit("run", "-m", "claude-sonnet-4-6", "hello")
        playground.process.send_signal(signal.SIGINT)
        _, stderr = playground.process.communicate(timeout=30)

        assert (first.stdout, second.stdout) == ("Hi there.\n", "echo: hello\n")
        assert playground.process.returncode == 0
        assert stderr.splitlines()[0].startswith("agentkit dev-server: an offline Messages API on http://127.0.0.1:")
        assert stderr.splitlines()[-1] == "agentkit dev-server: stopped after 2 requests"


def test_a_port_in_use_is_one_line_naming_it() -> None:
    for playground in _start([sys.executable, "-m", "agentkit.testing", "serve", "--port", "0"]):
        port = playground.env["ANTHROPIC_BASE_URL"].rsplit(":", 1)[1]
        taken = subprocess.run(
            [sys.executable, "-m", "agentkit", "dev-server", "--port", port],
            capture_output=True,
            text=True,
            timeout=60,
        )

        assert taken.returncode == 1
        assert taken.stderr.strip().startswith(f"agentkit dev-server: cannot listen on 127.0.0.1:{port}: ")
        assert "try another --port" in taken.stderr
        assert "Traceback" not in taken.stderr


def readme_cli_lines() -> list[str]:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    block = readme.split("<!-- readme-cli:", 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    return [line for line in block.splitlines() if line.strip()]


def test_the_readme_cli_examples_work_against_the_playground(monkeypatch: pytest.MonkeyPatch) -> None:
    """In-process (the subprocess tests above cover the real shells), from the repository's root."""
    from click.testing import CliRunner

    from agentkit.cli import main
    from agentkit.testing import MessagesServer
    from agentkit.testing._playground import playground_model

    monkeypatch.chdir(Path(__file__).resolve().parents[2])
    monkeypatch.setattr(sys, "path", list(sys.path))
    lines = readme_cli_lines()
    assert len(lines) >= 5
    with MessagesServer(playground_model) as server:
        env = {"ANTHROPIC_BASE_URL": server.url, "ANTHROPIC_API_KEY": "sk-ant-test", "ANTHROPIC_AUTH_TOKEN": None}
        for line in lines:
            words = shlex.split(line)
            assert words[0] == "agentkit", line
            done = CliRunner().invoke(main, words[1:], env=env, catch_exceptions=False)

            assert done.exit_code == 0, f"{line}\n{done.stdout}\n{done.stderr}"
            assert done.stdout.strip(), line
        assert server.rejected == []
