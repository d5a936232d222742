"""What the CLI prints of a run, and `agentkit chat`'s loop.

Kept out of `cli.py` because it imports the run machinery, which `agentkit --help` must not load.
Answer text goes to stdout; tool calls and usage go to stderr, so `agentkit run ... > answer.txt`
captures the answer alone.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from collections.abc import Sequence
from typing import IO, Any

import anyio
import click
from anyio.from_thread import BlockingPortal, start_blocking_portal
from pydantic_core import to_jsonable_python

from .agent import Agent
from .errors import InputError, RunError
from .result import ModelCallStarted, Retrying, RunResult, RunStream, TextDelta, ToolCallFinished, ToolCallReady
from .usage import Usage

_SHOWN = 200  # characters of a tool result shown on stderr


async def print_events(run: RunStream, *, text: bool, progress: bool) -> str:
    """Echo the answer's text (with `text`) and tool calls (with `progress`) as they arrive; the
    text of the answer, as the events rebuild it (a redone call's text replaces the broken one's)."""
    printed = ""
    call_start = 0  # where the current model call's text begins in `printed`
    async for event in run:
        if isinstance(event, ModelCallStarted):
            call_start = len(printed)
        elif isinstance(event, Retrying) and text:
            if len(printed) > call_start:  # a terminal cannot take text back: say it is shown again
                click.secho("\n[the response broke; this part again:]", err=True, fg="yellow")
            printed = printed[:call_start]
        elif isinstance(event, TextDelta) and text:
            click.echo(event.text, nl=False)
            printed += event.text
        elif isinstance(event, ToolCallReady) and progress:
            _newline_after(printed, text)
            printed = ""
            click.secho(f"-> {event.name}({json.dumps(event.input, ensure_ascii=False)})", err=True, fg="cyan")
        elif isinstance(event, ToolCallFinished) and progress:
            content = event.content if isinstance(event.content, str) else json.dumps(event.content)
            shown = content if len(content) <= _SHOWN else content[:_SHOWN] + "..."
            flag, colour = (" [error]", "red") if event.is_error else ("", None)
            click.secho(f"<- {shown}{flag}", err=True, fg=colour)
    _newline_after(printed, text)
    return printed


def _newline_after(printed: str, text: bool) -> None:
    if text and printed and not printed.endswith("\n"):
        click.echo()


def print_usage(usage: Usage) -> None:
    """The run's usage on stderr, after its answer."""
    line = (
        f"usage: {usage.requests} requests, {usage.input_tokens} input tokens "
        f"(+{usage.cache_read_tokens} cache read, +{usage.cache_write_tokens} cache write), "
        f"{usage.output_tokens} output tokens"
    )
    click.secho(line, err=True, dim=True)


def chat_loop(
    agent: Agent, variables: dict[str, Any], stdin: IO[str], *, progress: bool, session: str | None = None
) -> tuple[int, bool]:
    """Read a prompt per line and answer it, the history carried from turn to turn.

    The agent runs on an event loop in a background thread (a blocking portal) while this thread
    reads stdin, so Ctrl-C interrupts a read at once and one client serves the whole chat. Ctrl-C
    during a turn cancels that turn and returns to the prompt; Ctrl-C at the prompt, or the end of
    input right after an interrupted turn, leaves. Returns the exit code (0, or 130 after Ctrl-C)
    and whether a turn was interrupted (a sync tool may still be running in a worker thread).
    """
    interactive = stdin.isatty()
    if interactive:
        click.echo(f"Chatting with {agent.name} ({agent.model}). /exit or Ctrl-D to end.", err=True)
    history: Sequence[Any] = []
    code, interrupted, just_interrupted = 0, False, False
    with start_blocking_portal() as portal:
        try:
            while True:
                if interactive:
                    click.echo("> ", nl=False, err=True)
                try:
                    line = stdin.readline()
                except KeyboardInterrupt:
                    code = INTERRUPTED
                    break
                if not line or line.strip() in ("/exit", "/quit"):
                    code = INTERRUPTED if just_interrupted and not line else 0
                    break
                if line.strip():
                    answered = _cancellable_turn(portal, agent, line.strip(), variables, history, progress, session)
                    just_interrupted = answered is None
                    interrupted = interrupted or just_interrupted
                    history = history if answered is None else answered
        finally:
            portal.call(agent.aclose)
    return code, interrupted


INTERRUPTED = 130


def _cancellable_turn(
    portal: BlockingPortal,
    agent: Agent,
    prompt: str,
    variables: dict[str, Any],
    history: Sequence[Any],
    progress: bool,
    session: str | None,
) -> Sequence[Any] | None:
    """One turn on the portal; Ctrl-C cancels it (None), a second Ctrl-C while it unwinds leaves at once."""
    state: dict[str, Any] = {"cancelled": False, "scope": None}

    async def turn() -> Sequence[Any] | None:
        with anyio.CancelScope() as scope:
            state["scope"] = scope
            if state["cancelled"]:
                scope.cancel()
            return await _turn(agent, prompt, variables, history, progress, session)
        return None  # cancelled

    def cancel() -> None:
        state["cancelled"] = True
        if state["scope"] is not None:
            state["scope"].cancel()

    future = portal.start_task_soon(turn)
    try:
        answered: Sequence[Any] | None = future.result()
        return answered
    except KeyboardInterrupt:
        portal.call(cancel)  # runs on the portal's loop, so `turn` has either its scope or the flag
        try:
            future.result()  # the turn unwinds: a session keeps every completed step
        except KeyboardInterrupt:
            click.echo("Interrupted", err=True)
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(INTERRUPTED)  # a sync tool still sleeping in a worker thread would hold the exit
        kept = f"; session {session!r} keeps every completed step" if session else ""
        click.echo(f"Interrupted: the turn is cancelled{kept}. Ctrl-C again or Ctrl-D to leave.", err=True)
        return None


async def _turn(
    agent: Agent, prompt: str, variables: dict[str, Any], history: Sequence[Any], progress: bool, session: str | None
) -> Sequence[Any]:
    """One exchange; a failed run is reported and the conversation goes on from its valid history.

    With a session the store keeps the history, so none is passed along.
    """
    try:
        async with agent.stream(prompt, vars=variables, history=None if session else history, session=session) as run:
            await print_events(run, text=True, progress=progress)
            result: RunResult[Any] | None = run.result
    except RunError as exc:
        click.echo(f"Error: {type(exc).__name__}: {exc}", err=True)
        return exc.messages or history
    except InputError as exc:  # this prompt cannot be sent; the conversation is as it was
        click.echo(f"Error: {type(exc).__name__}: {exc}", err=True)
        return history
    assert result is not None
    if not isinstance(result.output, str):
        click.echo(format_output(result.output))
    if progress:
        print_usage(result.usage)
    return result.messages


def format_output(output: Any) -> str:
    """Text as it is; a typed output as JSON (a pydantic model under its fields' aliases)."""
    if isinstance(output, str):
        return output
    return json.dumps(to_jsonable_python(output, by_alias=True), indent=2, ensure_ascii=False)


def result_json(result: RunResult[Any]) -> str:
    """`agentkit run --json`: the parts of a `RunResult` a script needs, as JSON."""
    payload = {
        "output": result.output,
        "messages": result.messages,
        "usage": dataclasses.asdict(result.usage),
        "stop_reason": result.stop_reason,
        "turns": result.turns,
    }
    return json.dumps(to_jsonable_python(payload, by_alias=True), indent=2, ensure_ascii=False)
