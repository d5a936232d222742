"""What the CLI prints of a run: the answer, tool calls, a spinner, JSON (lines), one-line errors.

Kept out of `cli.py` because it imports the run machinery, which `agentkit --help` must not load.
Answer text goes to stdout; tool calls, usage, the spinner and errors go to stderr, so
`agentkit run ... > answer.txt` captures the answer alone.
"""

from __future__ import annotations

import dataclasses
import json
import re
import sys
from typing import IO, Any

import anyio
import click
from pydantic_core import to_jsonable_python

from .agent import Agent
from .errors import AgentkitError, APIError, MaxTokensReached, RunError, SessionStoreError
from .result import (
    ModelCallStarted,
    Retrying,
    RunFinished,
    RunResult,
    RunStream,
    TextDelta,
    ThinkingDelta,
    ToolCallFinished,
    ToolCallReady,
    TurnFinished,
)
from .usage import Usage

__all__ = [
    "Printer",
    "Spinner",
    "describe_error",
    "format_output",
    "print_usage",
    "result_json",
    "result_payload",
    "run_printed",
]

_SHOWN = 200  # characters of a tool result shown on stderr


class Spinner:
    """A one-line spinner on stderr while nothing else is printed; only when stderr is a terminal.

    `show(label)` starts or relabels it, `hide()` clears its line before anything else is
    written. It redraws from a task in the run's event loop (`async with spinner.running():`).
    """

    FRAMES = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"

    def __init__(self, stream: IO[str] | None = None, *, enabled: bool | None = None) -> None:
        self.stream = stream or sys.stderr
        self.enabled = _isatty(self.stream) if enabled is None else enabled
        self.label: str | None = None
        self._drawn = False

    def show(self, label: str) -> None:
        self.label = label if self.enabled else None

    def hide(self) -> None:
        self.label = None
        if self._drawn:
            self.stream.write("\r\033[K")
            self.stream.flush()
            self._drawn = False

    async def spin(self) -> None:
        """Redraw every 0.1 s until cancelled."""
        frame = 0
        while True:
            await anyio.sleep(0.1)
            if self.label is not None:
                self.stream.write(f"\r{self.FRAMES[frame % len(self.FRAMES)]} {self.label}\033[K")
                self.stream.flush()
                self._drawn = True
                frame += 1


def _isatty(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


class Printer:
    """Prints a run's events as they arrive, as text or as JSON lines.

    Args:
        text: Print the answer's text as it streams (else only the final output is printed).
        progress: Show tool calls (and their results) on stderr.
        json_lines: Print every event as one JSON object per line on stdout instead.
        spinner: The spinner to show while waiting (hidden before anything is printed).
        model: The model's id, for the spinner's label.
    """

    def __init__(
        self, *, text: bool, progress: bool, json_lines: bool = False, spinner: Spinner | None = None, model: str = ""
    ) -> None:
        self.text = text
        self.progress = progress
        self.json_lines = json_lines
        self.spinner = spinner or Spinner(enabled=False)
        self.waiting = f"waiting for {model}" if model else "waiting for the model"
        self.printed = ""  # the answer text printed on stdout since the last line end
        self.call_text = 0  # characters of text the current model call has printed

    async def print_run(self, run: RunStream) -> RunResult[Any]:
        """Print every event of `run`; its result. The text line is ended whatever happens."""
        failure: BaseException | None = None
        async with anyio.create_task_group() as group:  # the spinner's redraw task beside the run
            group.start_soon(self.spinner.spin)
            self.spinner.show(self.waiting)
            try:
                async for event in run:
                    self.event(event)
            except BaseException as exc:  # re-raised as itself below, not inside an ExceptionGroup
                failure = exc
            finally:
                self.spinner.hide()
                self.end_line()
                group.cancel_scope.cancel()
        if failure is not None:
            raise failure
        assert run.result is not None
        return run.result

    def event(self, event: Any) -> None:
        if self.json_lines:
            self.spinner.hide()
            click.echo(event_json(event))
            return
        if isinstance(event, ModelCallStarted):
            self.call_text = 0
        elif isinstance(event, TextDelta) and self.text:
            self.spinner.hide()
            click.echo(event.text, nl=False)
            sys.stdout.flush()
            self.printed += event.text
            self.call_text += len(event.text)
        elif isinstance(event, ThinkingDelta):
            self.spinner.show("thinking")
        elif isinstance(event, ToolCallReady):
            if self.progress:
                self.spinner.hide()
                self.end_line()
                click.secho(f"-> {event.name}({json.dumps(event.input, ensure_ascii=False)})", err=True, fg="cyan")
            self.spinner.show(f"running {event.name}")
        elif isinstance(event, ToolCallFinished):
            if self.progress:
                self.spinner.hide()
                content = event.content if isinstance(event.content, str) else json.dumps(event.content)
                shown = content if len(content) <= _SHOWN else content[:_SHOWN] + "..."
                flag, colour = (" [error]", "red") if event.is_error else ("", None)
                click.secho(f"<- {shown}{flag}", err=True, fg=colour)
            self.spinner.show(self.waiting)
        elif isinstance(event, Retrying) and self.text and self.call_text:
            # A terminal cannot take text back: say that the broken call's part is shown again.
            self.spinner.hide()
            click.secho("\n[the response broke; this part again:]", err=True, fg="yellow")
            self.printed, self.call_text = "", 0
            self.spinner.show(self.waiting)

    def end_line(self) -> None:
        """End the answer's line, so nothing printed after it is glued to its last word."""
        if self.printed and not self.printed.endswith("\n"):
            click.echo()
        self.printed = ""


def event_json(event: Any) -> str:
    """One event as a JSON object with a `type` (`text_delta`, `tool_call_ready`, ..., `result`)."""
    if isinstance(event, RunFinished):
        return json.dumps({"type": "result", **result_payload(event.result)}, ensure_ascii=False)
    name = re.sub(r"(?<!^)(?=[A-Z])", "_", type(event).__name__).lower()
    if isinstance(event, TurnFinished):
        payload: dict[str, Any] = {
            "turn": event.turn,
            "stop_reason": event.response.stop_reason,
            "usage": dataclasses.asdict(event.usage),
        }
    elif dataclasses.is_dataclass(event) and not isinstance(event, type):
        payload = {f.name: getattr(event, f.name) for f in dataclasses.fields(event)}
    else:
        payload = {"value": repr(event)}
    return json.dumps(to_jsonable_python({"type": name, **payload}, by_alias=True), ensure_ascii=False)


def error_json(exc: AgentkitError) -> str:
    """The last JSON line of a failed run: the error, and what a script needs to resume.

    Args:
        exc: The error the run ended with (a `RunError` carries the run's messages, a
            `SessionStoreError` the history it could not save; a `SessionBusy` or an
            `InputError` none).
    """
    payload: dict[str, Any] = {"type": "error", "error": type(exc).__name__, "message": describe_error(exc)}
    if isinstance(exc, MaxTokensReached):
        payload["partial_output"] = exc.partial_output
    payload["messages"] = exc.messages if isinstance(exc, RunError | SessionStoreError) else []
    return json.dumps(to_jsonable_python(payload, by_alias=True), ensure_ascii=False)


async def run_printed(
    agent: Agent,
    prompt: str,
    printer: Printer,
    *,
    variables: dict[str, Any],
    history: Any = None,
    session: Any = None,
    hooks: Any = None,
) -> RunResult[Any]:
    """One run of `agent`, printed by `printer`; an `APIError` 404 gets a "did you mean" note."""
    try:
        async with agent.stream(prompt, vars=variables, history=history, session=session, hooks=hooks) as run:
            return await printer.print_run(run)
    except APIError as exc:
        if exc.status_code == 404 and exc.error_type == "not_found_error":
            hint = await model_hint(agent)
            if hint:
                exc.add_note(hint)
        raise


async def model_hint(agent: Agent) -> str:
    """'did you mean ...?' for an agent's model the API does not know, from the Models API list
    (when the endpoint answers within a few seconds) and agentkit's own table."""
    from ._client import default_client
    from ._known_models import suggest

    listed: list[str] = []
    given = agent.client
    try:
        client = given if given is not None else default_client()
    except Exception:  # no credentials: agentkit's table alone
        client = None
    if client is not None:
        with anyio.move_on_after(5):
            try:
                listed = [model.id async for model in client.models.list(limit=100)]
            except Exception:  # an Anthropic-compatible server may not serve /v1/models
                listed = []
        if given is None:
            await client.close()
    close = suggest(agent.model, listed)
    if not close:
        return f"the model {agent.model!r} is unknown to the API; see `client.models.list()` for the ids it serves"
    return f"did you mean {' or '.join(repr(c) for c in close)}?"


def describe_error(exc: BaseException) -> str:
    """A failed run as one line: `Error: <type>: ...`; API errors give status, type, message, request id."""
    notes = [str(n) for n in getattr(exc, "__notes__", ())]
    if isinstance(exc, APIError):
        head = " ".join(str(p) for p in (exc.status_code, exc.error_type) if p)
        line = f"Error: APIError{' ' + head if head else ''}: {_api_message(exc)}"
        if exc.request_id:
            line += f" (request_id {exc.request_id})"
    else:
        first = str(exc).strip().splitlines()
        line = f"Error: {type(exc).__name__}: {first[0] if first else ''}".rstrip(": ")
    return "; ".join([line, *notes])


def _api_message(exc: APIError) -> str:
    """The API's own message (not the SDK's dict repr); for a connection failure, the URL."""
    import anthropic

    cause = exc.__cause__
    if isinstance(cause, anthropic.APIStatusError):
        body = cause.body
        error = body.get("error") if isinstance(body, dict) else None
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
        return cause.message
    if isinstance(cause, anthropic.APIConnectionError):
        url = cause.request.url
        where = f"{url.scheme}://{url.netloc.decode()}"
        return f"{cause.message.rstrip('.')} to {where} (is the server up? check ANTHROPIC_BASE_URL)"
    return str(cause) if cause is not None else str(exc)


def print_failure(exc: RunError, *, printed_partial: bool) -> None:
    """A failed run on stderr, one line; a cut answer's partial text first, on its own stdout line."""
    if isinstance(exc, MaxTokensReached) and exc.partial_output and not printed_partial:
        click.echo(exc.partial_output.rstrip("\n"))
    sys.stdout.flush()
    click.echo(describe_error(exc), err=True)


def print_usage(usage: Usage) -> None:
    """The run's usage on stderr, after its answer."""
    line = (
        f"usage: {usage.requests} requests, {usage.input_tokens} input tokens "
        f"(+{usage.cache_read_tokens} cache read, +{usage.cache_write_tokens} cache write), "
        f"{usage.output_tokens} output tokens"
    )
    click.secho(line, err=True, dim=True)


def format_output(output: Any) -> str:
    """Text as it is; a typed output as JSON (a pydantic model under its fields' aliases)."""
    if isinstance(output, str):
        return output
    return json.dumps(to_jsonable_python(output, by_alias=True), indent=2, ensure_ascii=False)


def result_payload(result: RunResult[Any]) -> dict[str, Any]:
    """The parts of a `RunResult` a script needs, JSON-ready."""
    payload = {
        "output": result.output,
        "messages": result.messages,
        "usage": dataclasses.asdict(result.usage),
        "stop_reason": result.stop_reason,
        "turns": result.turns,
    }
    jsonable: dict[str, Any] = to_jsonable_python(payload, by_alias=True)
    return jsonable


def result_json(result: RunResult[Any]) -> str:
    """`agentkit run --json`: the run's result as one JSON document."""
    return json.dumps(result_payload(result), indent=2, ensure_ascii=False)
