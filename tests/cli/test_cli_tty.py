"""The CLI at a terminal, in a pseudo-terminal (pexpect): streaming by default, the spinner, and
`agentkit chat`'s line editing, history, multi-line input, slash commands and typed-ahead keys."""

from __future__ import annotations

import asyncio
import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pexpect
import pytest

from agentkit.testing import MessagesServer, Reply, Request, text, tool_use

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")


@pytest.fixture
def tty_env(messages_server: MessagesServer, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "AGENTKIT_"))}
    env.update(
        ANTHROPIC_BASE_URL=messages_server.url,
        ANTHROPIC_API_KEY="sk-ant-test",
        AGENTKIT_HISTORY=str(tmp_path / "history"),
        TERM="xterm",
        COLUMNS="200",
    )
    return env


def spawn(env: dict[str, str], *args: str) -> pexpect.spawn:
    child = pexpect.spawn(
        sys.executable, ["-m", "agentkit", *args], env=env, encoding="utf-8", timeout=30, dimensions=(24, 200)
    )
    return child


@pytest.fixture
def gate(messages_server: MessagesServer) -> Iterator[threading.Event]:
    """Each answer waits until the test opens the gate (so the test sees what is shown meanwhile)."""
    opened = threading.Event()

    async def model(request: Request) -> Reply:
        await asyncio.to_thread(opened.wait)
        opened.clear()
        return Reply.text(f"echo {request.last_user_text}")

    messages_server.respond_with(model)
    yield opened
    opened.set()


def test_run_at_a_terminal_streams_and_spins_while_waiting(
    tty_env: dict[str, str], messages_server: MessagesServer, gate: threading.Event
) -> None:
    child = spawn(tty_env, "run", "-m", "claude-haiku-4-5", "what is 2+2")
    child.expect("waiting for claude-haiku-4-5")  # the spinner, while the model has not answered
    gate.set()
    child.expect("echo what is 2\\+2")
    child.expect(pexpect.EOF)
    child.close()

    assert child.exitstatus == 0


def test_streaming_is_the_default_at_a_terminal_and_no_stream_waits_for_the_end(
    tty_env: dict[str, str], messages_server: MessagesServer, files: object
) -> None:
    Path("shop_tools.py").write_text('def lookup(order: str) -> str:\n    """Look up."""\n    return "shipped"\n')
    opened = threading.Event()

    async def model(request: Request) -> Reply:
        if not request.tool_results:
            return Reply([text("Let me check. "), tool_use("lookup", {"order": "A-1"})])
        await asyncio.to_thread(opened.wait)
        opened.clear()
        return Reply.text("It shipped.")

    messages_server.respond_with(model)
    args = ("run", "-m", "claude-haiku-4-5", "--tool", "shop_tools:lookup", "-q", "A-1?")

    streamed = spawn(tty_env, *args)
    streamed.expect("Let me check\\. ")  # shown while the second model call is still waiting
    opened.set()
    streamed.expect("It shipped\\.")
    streamed.expect(pexpect.EOF)
    streamed.close()

    whole = spawn(tty_env, *args, "--no-stream")
    whole.expect("waiting for claude-haiku-4-5")  # the spinner again, after the tool ran
    shown_meanwhile = whole.before
    opened.set()
    whole.expect("It shipped\\.")
    whole.expect(pexpect.EOF)
    whole.close()

    assert (streamed.exitstatus, whole.exitstatus) == (0, 0)
    assert "Let me check" not in (shown_meanwhile or "") + (whole.before or "")


def test_piped_output_gets_no_spinner_and_no_stream(
    tty_env: dict[str, str], messages_server: MessagesServer, tmp_path: Path
) -> None:
    messages_server.respond_with(lambda request: Reply.text("four"))
    out = tmp_path / "answer.txt"
    child = pexpect.spawn(
        "/bin/sh",
        ["-c", f"{sys.executable} -m agentkit run -m claude-haiku-4-5 'what is 2+2' > {out}"],
        env=tty_env,
        encoding="utf-8",
        timeout=30,
    )
    child.expect(pexpect.EOF)
    shown = child.before
    child.close()

    assert child.exitstatus == 0
    assert out.read_text() == "four\n"
    # stderr is still the terminal: the spinner may show there, but never in the captured answer
    assert "four" not in (shown or "")


def test_chat_commands_multiline_history_and_clear(
    tty_env: dict[str, str], messages_server: MessagesServer, tmp_path: Path
) -> None:
    messages_server.respond_with(lambda request: Reply.text(f"got {request.last_user_text!r}"))
    child = spawn(tty_env, "chat", "-m", "claude-haiku-4-5")
    child.expect("Chatting with agentkit \\(claude-haiku-4-5\\). /help for commands")
    child.expect("> ")

    child.sendline("/help")
    child.expect("/clear +forget the conversation")
    child.expect("> ")
    child.sendline("/nope")
    child.expect("Unknown command /nope; the commands are /help, /exit")
    child.expect("> ")
    assert messages_server.requests == []  # commands never reach the model

    child.sendline("first line \\")
    child.expect("\\.\\.\\. ")
    child.sendline("second line")
    child.expect("got 'first line \\\\nsecond line'")
    child.expect("> ")
    child.send("\x1b[A")  # a message typed over two lines is recalled whole, on one line
    child.sendline("")
    child.expect("got 'first line second line'")
    child.expect("> ")
    for line in ('"""', "a", "b"):
        child.sendline(line)
        child.expect("\\.\\.\\. ")
    child.sendline('"""')
    child.expect("got 'a\\\\nb'")
    child.expect("> ")
    child.sendline("plain")
    child.expect("got 'plain'")
    child.expect("> ")

    child.send("\x1b[A")  # the up arrow recalls the last line, as readline does
    child.sendline("")
    child.expect("got 'plain'")
    child.expect("> ")
    child.sendline("/clear")
    child.expect("Cleared")
    child.expect("> ")
    child.sendline("fresh")
    child.expect("got 'fresh'")
    child.expect("> ")
    child.sendline("/exit")
    child.expect(pexpect.EOF)
    child.close()

    assert child.exitstatus == 0
    texts = [r.last_user_text for r in messages_server.requests]
    assert texts == ["first line \nsecond line", "first line second line", "a\nb", "plain", "plain", "fresh"]
    assert len(messages_server.requests[-2].messages) == 9  # the conversation so far, then the recalled line
    assert len(messages_server.requests[-1].messages) == 1  # /clear started afresh
    assert "fresh" in (tmp_path / "history").read_text()  # kept for the next chat


def test_keys_typed_while_an_answer_streams_wait_for_the_next_prompt(
    tty_env: dict[str, str], messages_server: MessagesServer, gate: threading.Event
) -> None:
    child = spawn(tty_env, "chat", "-m", "claude-haiku-4-5")
    child.expect("> ")
    child.sendline("hello")
    child.expect("waiting for claude-haiku-4-5")
    child.send("typed ahead")
    gate.set()
    child.expect("echo hello")
    answer_screen = child.before
    child.expect("> typed ahead")  # shown at the prompt, ready to edit or send
    child.sendline("")
    gate.set()
    child.expect("echo typed ahead")
    child.expect("> ")
    child.sendcontrol("d")
    child.expect(pexpect.EOF)
    child.close()

    assert "typed ahead" not in (answer_screen or "")
    assert [r.last_user_text for r in messages_server.requests] == ["hello", "typed ahead"]


def test_ctrl_c_at_a_terminal_cancels_the_turn_then_ctrl_c_at_the_prompt_leaves_with_130(
    tty_env: dict[str, str], messages_server: MessagesServer
) -> None:
    released = threading.Event()

    async def model(request: Request) -> Reply:
        if request.last_user_text == "hello":  # the turn to cancel: no answer until the test ends
            await asyncio.to_thread(released.wait)
        return Reply.text(f"echo {request.last_user_text}")

    messages_server.respond_with(model)
    try:
        child = spawn(tty_env, "chat", "-m", "claude-haiku-4-5")
        child.expect("> ")
        child.sendline("hello")
        child.expect("waiting for claude-haiku-4-5")
        child.sendintr()  # Ctrl-C while the model has not answered
        child.expect("Interrupted: the turn is cancelled. Ctrl-C again or Ctrl-D to leave.")
        child.expect("> ")
        child.send("echoed again")  # the terminal echoes keys again at the prompt
        child.expect("echoed again")
        child.sendline("")
        child.expect("echo echoed again")
        child.expect("> ")
        child.sendintr()  # Ctrl-C at the prompt leaves
        child.expect(pexpect.EOF)
        child.close()
    finally:
        released.set()

    assert child.exitstatus == 130
    assert "Traceback" not in (child.before or "")
    assert messages_server.requests[-1].messages == [{"role": "user", "content": "echoed again"}]


APPROVAL_TOOLS = '''
from agentkit import tool


@tool(requires_approval=True)
def send_email(to: str) -> str:
    """Send an email."""
    return f"sent to {to}"
'''


def test_chat_asks_y_or_n_before_a_tool_that_needs_approval(
    tty_env: dict[str, str], messages_server: MessagesServer, tmp_path: Path
) -> None:
    def model(request: Request) -> Reply:
        if request.tool_results:
            return Reply.text(f"result: {request.tool_results[-1]['content']}")
        return Reply(content=[tool_use("send_email", {"to": request.last_user_text.split()[-1]})])

    messages_server.respond_with(model)
    (tmp_path / "approval_tools.py").write_text(APPROVAL_TOOLS, encoding="utf-8")
    env = {**tty_env, "PYTHONPATH": str(tmp_path)}
    child = spawn(env, "chat", "-m", "claude-haiku-4-5", "--tool", "approval_tools:send_email")
    child.expect("> ")

    child.sendline("email ann")
    child.expect('Run send_email\\(\\{"to": "ann"\\}\\)\\? \\[y/N\\]')
    child.sendline("y")
    child.expect("result: sent to ann")
    child.expect("> ")
    child.sendline("email bob")
    child.expect("Run send_email")
    child.sendline("n")
    child.expect("result: Denied: the user declined this call")
    child.expect("> ")
    child.sendline("/exit")
    child.expect(pexpect.EOF)
