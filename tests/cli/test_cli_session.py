"""`--session`: a conversation kept across invocations; Ctrl-C stops a run and keeps it valid."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import anyio

from agentkit.sessions import SQLiteSessionStore
from agentkit.testing import MessagesServer, Reply, tool_use, validate, with_tools

if TYPE_CHECKING:
    from conftest import Cli, Files

SPEC = """
name: worker
model: claude-haiku-4-5
tools: [slow_tools:crawl]
"""
TOOLS = '''
import os
import time
from pathlib import Path


def crawl(url: str) -> str:
    """Crawl a site."""
    Path(os.environ["CRAWL_MARKER"]).write_text("started")
    time.sleep(3600)
    return "never"
'''


def test_a_session_carries_the_conversation_across_runs(
    agentkit: Cli, files: Files, messages_server: MessagesServer, tmp_path: Path
) -> None:
    files.write("chat.yaml", "model: claude-haiku-4-5\n")
    db = tmp_path / "sessions.sqlite3"
    messages_server.script(Reply.text("Hi Ada."), Reply.text("You are Ada."))

    first = agentkit("run", "chat.yaml", "I am Ada.", "--session", "s1", env={"AGENTKIT_SESSIONS": str(db)})
    second = agentkit("run", "chat.yaml", "Who am I?", "--session", "s1", env={"AGENTKIT_SESSIONS": str(db)})

    assert (first.exit_code, second.exit_code, second.stdout) == (0, 0, "You are Ada.\n")
    assert [m["role"] for m in messages_server.requests[1].messages] == ["user", "assistant", "user"]


def test_ctrl_c_stops_the_run_at_once_and_the_session_stays_valid(files: Files, tmp_path: Path) -> None:
    files.write("slow_tools.py", TOOLS)
    files.write("worker.yaml", SPEC)
    db, marker = tmp_path / "sessions.sqlite3", tmp_path / "crawl.started"
    with MessagesServer([Reply(content=[tool_use("crawl", {"url": "https://example.org"})])]) as server:
        env = {
            **os.environ,
            "ANTHROPIC_BASE_URL": server.url,
            "ANTHROPIC_API_KEY": "sk-ant-test",
            "AGENTKIT_SESSIONS": str(db),
            "CRAWL_MARKER": str(marker),
        }
        command = [sys.executable, "-m", "agentkit", "run", "worker.yaml", "crawl it", "--session", "job"]
        child = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 30
        while not marker.exists():
            assert child.poll() is None, child.communicate()
            assert time.monotonic() < deadline, "the tool never started"
            time.sleep(0.02)
        stopped_at = time.monotonic()
        child.send_signal(signal.SIGINT)
        _, stderr = child.communicate(timeout=10)

    assert child.returncode == 130, stderr
    assert time.monotonic() - stopped_at < 5
    assert "Interrupted; session 'job' keeps every completed turn" in stderr
    saved = anyio.run(SQLiteSessionStore(db).load, "job")
    assert saved[-1]["content"][0]["is_error"] is True
    assert "Cancelled" in saved[-1]["content"][0]["content"]
    resent = {"model": "m", "max_tokens": 5, "messages": [*saved, {"role": "user", "content": "go on"}]}
    assert validate(with_tools(resent)) is None


CHAT_TOOLS = '''
import os
import time
from pathlib import Path


def crawl(url: str) -> str:
    """Crawl a site."""
    marker = Path(os.environ["CRAWL_MARKER"])
    marker.write_text(marker.read_text() + "x" if marker.exists() else "x")
    time.sleep(3600)
    return "never"
'''


def _chat_interrupted(files: Files, tmp_path: Path, *, then: str, script: list[Reply]) -> tuple[int, str, str, list]:
    """`agentkit chat` in a child process: a prompt whose tool sleeps, Ctrl-C once the tool runs, then `then`."""
    files.write("slow_tools.py", CHAT_TOOLS)
    files.write("worker.yaml", SPEC)
    marker = tmp_path / "crawl.started"
    with MessagesServer([Reply(content=[tool_use("crawl", {"url": "https://example.org"})]), *script]) as server:
        env = {**os.environ, "ANTHROPIC_BASE_URL": server.url, "ANTHROPIC_API_KEY": "sk-ant-test"}
        env["CRAWL_MARKER"] = str(marker)
        command = [sys.executable, "-m", "agentkit", "chat", "worker.yaml"]
        child = subprocess.Popen(
            command, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        assert child.stdin is not None
        child.stdin.write("crawl it\n")
        child.stdin.flush()
        deadline = time.monotonic() + 30
        while not marker.exists():
            assert child.poll() is None, child.communicate()
            assert time.monotonic() < deadline, "the tool never started"
            time.sleep(0.02)
        child.send_signal(signal.SIGINT)
        stdout, stderr = child.communicate(then, timeout=20)
        requests = [r.messages for r in server.requests]
    return child.returncode, stdout, stderr, requests


def test_ctrl_c_in_chat_cancels_the_turn_and_the_chat_goes_on(files: Files, tmp_path: Path) -> None:
    code, stdout, stderr, requests = _chat_interrupted(
        files, tmp_path, then="hello again\n", script=[Reply.text("Hello!")]
    )

    assert (code, stdout) == (0, "Hello!\n"), stderr
    assert "Interrupted: the turn is cancelled. Ctrl-C again or Ctrl-D to leave." in stderr
    assert "Traceback" not in stderr
    assert requests[-1] == [{"role": "user", "content": "hello again"}]  # the cancelled turn is not carried on


def test_ctrl_d_right_after_an_interrupted_turn_leaves_with_130(files: Files, tmp_path: Path) -> None:
    code, stdout, stderr, _ = _chat_interrupted(files, tmp_path, then="", script=[])

    assert (code, stdout) == (130, ""), stderr
    assert "Traceback" not in stderr
