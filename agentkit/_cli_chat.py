"""`agentkit chat`: a conversation at the terminal, with line editing, history and slash commands.

On a terminal: the standard `readline` (arrow keys, Ctrl-R, a history file kept across chats in
`$AGENTKIT_HISTORY`, default `chat_history` in the user's state folder), a spinner while waiting,
and keys typed while an answer streams kept for the next prompt instead of echoed into the
answer. A line ending in a backslash continues on the next line; a line of three double quotes
starts a message that ends at the next such line. Slash commands are handled here and never
sent to the model. Piped input is read a line per message, with no prompt and no banner.
Ctrl-C cancels the turn under way and returns to the prompt; a second Ctrl-C (or Ctrl-D) leaves
with exit code 130.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any

import anyio
import click
from anyio.from_thread import BlockingPortal, start_blocking_portal

from ._cli_runs import Printer, Spinner, describe_error, format_output, print_failure, print_usage, run_printed
from .agent import Agent
from .errors import InputError, RunError
from .hooks import Approval, RunHooks
from .result import ToolCallReady
from .usage import Usage

__all__ = ["COMMANDS", "chat_loop"]

COMMANDS = {
    "/help": "show this help",
    "/exit": "leave the chat (also /quit, or Ctrl-D)",
    "/clear": "forget the conversation so far and start afresh",
    "/usage": "tokens and requests used in this chat",
    "/history": "how many messages the conversation holds",
}
_MULTILINE = '"""'


class Chat:
    """One chat's state: the conversation, the usage so far, how to read and print."""

    def __init__(
        self, agent: Agent, variables: dict[str, Any], stdin: IO[str], *, progress: bool, stream: bool, session: Any
    ) -> None:
        self.agent = agent
        self.variables = variables
        self.stdin = stdin
        self.progress = progress
        self.stream = stream
        self.session = session
        self.interactive = _isatty(stdin)
        self.history: Sequence[Any] = []
        self.usage = Usage()

    # -- reading -------------------------------------------------------------------------------

    def read_line(self, prompt: str) -> str | None:
        """One line without its newline; None at the end of input."""
        if self.interactive:
            try:
                return input(prompt)
            except EOFError:
                click.echo(err=True)
                return None
        line = self.stdin.readline()
        return None if not line else line.rstrip("\n")

    def read_message(self) -> str | None:
        """The next message: one line, continued past a trailing backslash, or a triple-quoted block."""
        line = self.read_line("> ")
        if line is None:
            return None
        if line.strip() == _MULTILINE:
            lines: list[str] = []
            while (more := self.read_line("... ")) is not None and more.strip() != _MULTILINE:
                lines.append(more)
            self._remember(len(lines) + 2, " ".join(lines))
            return "\n".join(lines)
        parts = []
        while line is not None and line.endswith("\\"):
            parts.append(line[:-1])
            line = self.read_line("... ")
        parts.append(line or "")
        if len(parts) > 1:
            self._remember(len(parts), " ".join(p.strip() for p in parts))
        return "\n".join(parts)

    def _remember(self, lines: int, message: str) -> None:
        """One history entry for a message typed over several lines, so the up arrow recalls it whole."""
        if not self.interactive:
            return
        try:
            import readline
        except ImportError:
            return
        for _ in range(min(lines, readline.get_current_history_length())):
            readline.remove_history_item(readline.get_current_history_length() - 1)
        readline.add_history(message)

    # -- commands ------------------------------------------------------------------------------

    def command(self, text: str) -> bool:
        """Handle a slash command; False when the chat should end."""
        name = text.split()[0].lower()
        if name in ("/exit", "/quit"):
            return False
        if name == "/help":
            width = max(len(c) for c in COMMANDS)
            for command, about in COMMANDS.items():
                click.echo(f"  {command:<{width}}  {about}", err=True)
            click.echo(
                '  End a line with \\ to go on to the next; a line of """ starts and ends a multi-line message.\n'
                "  Start a message with // to send one that begins with /.",
                err=True,
            )
        elif name == "/clear":
            if self.session:
                click.echo(
                    f"The session {self.session!r} keeps its history; start another with --session NEW_ID.", err=True
                )
            else:
                self.history = []
                click.echo("Cleared: the next message starts a new conversation.", err=True)
        elif name == "/usage":
            print_usage(self.usage)
        elif name == "/history":
            click.echo(f"{len(self.history)} messages in the conversation.", err=True)
        else:
            known = ", ".join(COMMANDS)
            click.echo(f"Unknown command {name}; the commands are {known} (/help explains them).", err=True)
        return True

    # -- a turn --------------------------------------------------------------------------------

    async def approve(self, calls: Sequence[ToolCallReady]) -> dict[str, Approval]:
        """Ask at the terminal, y/n, for each tool call that needs approval (`requires_approval`)."""
        decisions: dict[str, Approval] = {}
        for call in calls:
            arguments = json.dumps(call.input, ensure_ascii=False)
            question = f"Run {call.name}({arguments})?"
            yes = await anyio.to_thread.run_sync(functools.partial(click.confirm, question, default=False, err=True))
            decisions[call.id] = True if yes else "the user declined this call at the prompt"
        return decisions

    async def turn(self, prompt: str) -> None:
        """One exchange; a failed run is reported and the conversation goes on from its valid history.

        With a session the store keeps the history, so none is passed along.
        """
        printer = Printer(
            text=self.stream, progress=self.progress, spinner=Spinner(enabled=None), model=self.agent.model
        )
        history = None if self.session else self.history
        hooks = RunHooks(approve=self.approve) if self.interactive else None
        try:
            result = await run_printed(
                self.agent,
                prompt,
                printer,
                variables=self.variables,
                history=history,
                session=self.session,
                hooks=hooks,
            )
        except RunError as exc:
            print_failure(exc, printed_partial=self.stream)
            if exc.usage is not None:
                self.usage.add(exc.usage)
            self.history = exc.messages or self.history
            return
        except InputError as exc:  # this message cannot be sent; the conversation is as it was
            click.echo(describe_error(exc), err=True)
            return
        self.usage.add(result.usage)
        if not self.stream or not isinstance(result.output, str):
            click.echo(format_output(result.output))
        if self.progress:
            print_usage(result.usage)
        self.history = result.messages


def chat_loop(
    agent: Agent,
    variables: dict[str, Any],
    stdin: IO[str],
    *,
    progress: bool,
    session: str | None = None,
    stream: bool = True,
) -> tuple[int, bool]:
    """Read a message at a time and answer it, the history carried from turn to turn.

    The agent runs on an event loop in a background thread (a blocking portal) while this thread
    reads the terminal, so Ctrl-C interrupts a read at once and one client serves the whole chat.
    Ctrl-C during a turn cancels that turn and returns to the prompt (the conversation is as it
    was before it); Ctrl-C at the prompt, or the end of input right after a cancelled turn,
    leaves with 130.

    Args:
        agent: The agent to chat with.
        variables: Template variables for its system prompt.
        stdin: Where messages are read from (a terminal gets line editing and a prompt).
        progress: Show tool calls and usage on stderr.
        session: A durable session id that keeps the conversation.
        stream: Print answers as they arrive.

    Returns:
        The exit code (0, or 130 after Ctrl-C) and whether a turn was cancelled (a sync tool of
        it may still run in a worker thread, which would hold the interpreter's exit).
    """
    chat = Chat(agent, variables, stdin, progress=progress, stream=stream, session=session)
    save_history = _line_editing() if chat.interactive else None
    if chat.interactive:
        click.echo(
            f"Chatting with {agent.name} ({agent.model}). /help for commands, /exit or Ctrl-D to leave.", err=True
        )
    code, interrupted, just_interrupted = 0, False, False
    try:
        with start_blocking_portal() as portal:
            try:
                while True:
                    try:
                        text = chat.read_message()
                    except KeyboardInterrupt:  # Ctrl-C at the prompt leaves
                        if chat.interactive:
                            click.echo(err=True)
                        code = INTERRUPTED
                        break
                    if text is None:  # Ctrl-D, the end of input
                        code = INTERRUPTED if just_interrupted else 0
                        break
                    stripped = text.strip()
                    if not stripped:
                        continue
                    if stripped.startswith("/") and not stripped.startswith("//"):
                        if not chat.command(stripped):
                            break
                        continue
                    message = stripped[1:] if stripped.startswith("//") else stripped
                    with _keys_not_echoed(stdin if chat.interactive else None) as restore_terminal:
                        cleanups = [restore_terminal] if save_history is None else [restore_terminal, save_history]
                        just_interrupted = not _cancellable_turn(portal, chat, message, cleanups)
                    interrupted = interrupted or just_interrupted
            finally:
                portal.call(agent.aclose)
    finally:
        if save_history is not None:
            save_history()
    return code, interrupted


INTERRUPTED = 130  # 128 + SIGINT, as shells report Ctrl-C


def _cancellable_turn(portal: BlockingPortal, chat: Chat, message: str, cleanups: Sequence[Callable[[], None]]) -> bool:
    """One turn on the portal; False when Ctrl-C cancelled it. A second Ctrl-C while the cancelled
    turn unwinds leaves at once with 130, after `cleanups` (the terminal, the history file)."""
    state: dict[str, Any] = {"cancelled": False, "scope": None}

    async def turn() -> bool:
        with anyio.CancelScope() as scope:
            state["scope"] = scope
            if state["cancelled"]:
                scope.cancel()
            await chat.turn(message)
            return True
        return False  # cancelled

    def cancel() -> None:
        state["cancelled"] = True
        if state["scope"] is not None:
            state["scope"].cancel()

    future = portal.start_task_soon(turn)
    try:
        return future.result()
    except KeyboardInterrupt:
        portal.call(cancel)  # runs on the portal's loop, so `turn` has either its scope or the flag
        try:
            future.result()  # the turn unwinds: a session keeps every completed step
        except KeyboardInterrupt:
            for cleanup in cleanups:
                cleanup()
            click.echo("Interrupted", err=True)
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(INTERRUPTED)  # a sync tool still sleeping in a worker thread would hold the exit
        kept = f"; session {chat.session!r} keeps every completed step" if chat.session else ""
        click.echo(f"Interrupted: the turn is cancelled{kept}. Ctrl-C again or Ctrl-D to leave.", err=True)
        return False


def history_file() -> Path:
    """`$AGENTKIT_HISTORY`, else `chat_history` in the user's state folder, beside the sessions
    (platformdirs: `$XDG_STATE_HOME/agentkit`, by default `~/.local/state/agentkit`, on Linux)."""
    if os.environ.get("AGENTKIT_HISTORY"):
        return Path(os.environ["AGENTKIT_HISTORY"]).expanduser()
    import platformdirs

    return platformdirs.user_state_path("agentkit", appauthor=False) / "chat_history"


def _line_editing() -> Callable[[], None] | None:
    """Turn on readline for `input()` with the history file; the function that saves it, or None."""
    try:
        import readline
    except ImportError:  # Windows without pyreadline: plain input() still works
        return None
    path = history_file()
    with contextlib.suppress(OSError):
        readline.read_history_file(path)
    readline.set_history_length(1000)

    def save() -> None:
        with contextlib.suppress(OSError):
            path.parent.mkdir(parents=True, exist_ok=True)
            readline.write_history_file(path)

    return save


@contextlib.contextmanager
def _keys_not_echoed(stdin: IO[str] | None) -> Iterator[Callable[[], None]]:
    """While an answer prints, keys typed ahead wait for the next prompt instead of appearing in it.

    Yields the function that restores the terminal, for a way out that skips the `finally`
    (`os._exit` on a second Ctrl-C).
    """
    try:
        import termios

        fd = stdin.fileno() if stdin is not None else -1
        saved = termios.tcgetattr(fd) if fd >= 0 else None
    except (ImportError, OSError, ValueError):
        saved = None
    if saved is None:
        yield lambda: None
        return
    quiet = list(saved)
    quiet[3] = quiet[3] & ~termios.ECHO
    termios.tcsetattr(fd, termios.TCSANOW, quiet)

    def restore() -> None:
        with contextlib.suppress(OSError, termios.error):
            termios.tcsetattr(fd, termios.TCSANOW, saved)

    try:
        yield restore
    finally:
        restore()


def _isatty(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
