"""The `agentkit` command: run and chat with agents (a YAML spec, a model, a Python agent), validate
specs, print the spec's JSON Schema, and serve an offline playground (`dev-server`).

Built on click, not typer: click imports in ~40 ms where typer pulls in rich, and `agentkit --help`
has to answer in well under 0.3 s. For the same reason this module imports only click at the top:
the SDK, pydantic and the spec loader are imported inside the commands that use them
(`_cli_agents` builds the agent, `_cli_runs` prints a run, `_cli_chat` is the chat loop).

Exit codes: 0 success, 1 the run failed (an API error, a `RunError`, a busy session, a store that
fails), 2 a bad spec or bad usage (a `ConfigurationError`, an `InputError`), 130 interrupted. Every
`AgentkitError` a command lets through is mapped here (`_Commands`, `exit_code`), printed without a
traceback.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NoReturn

import click

if TYPE_CHECKING:
    from .agent import Agent
    from .result import RunResult
    from .spec import LoadedSpec

RUN_FAILED = 1
BAD_SPEC = 2
INTERRUPTED = 130  # 128 + SIGINT, as shells report Ctrl-C


class _Commands(click.Group):
    """The command group: every agentkit error becomes its exit code and one message on stderr."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            click.echo("Interrupted", err=True)
            raise click.exceptions.Exit(INTERRUPTED) from None
        except Exception as exc:
            from .errors import AgentkitError

            if not isinstance(exc, AgentkitError):
                raise
            code, message = exit_code(exc)
            click.echo(message, err=True)
            raise click.exceptions.Exit(code) from None


def exit_code(exc: BaseException) -> tuple[int, str]:
    """The exit code for an error a command ended with, and the message to print.

    Args:
        exc: The error.
    """
    from .errors import ConfigurationError, InputError

    if isinstance(exc, ConfigurationError):  # a SpecError's lines already name file:line:column
        return BAD_SPEC, str(exc)
    code = BAD_SPEC if isinstance(exc, InputError) else RUN_FAILED
    return code, f"Error: {type(exc).__name__}: {exc}"


@click.group(name="agentkit", cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="agentkit-claude", message="%(prog)s %(version)s")
def main() -> None:
    """Run agents against Anthropic's Messages API: a YAML spec, a model, or a Python agent.

    The API key and endpoint come from ANTHROPIC_API_KEY and ANTHROPIC_BASE_URL. No key yet?
    `agentkit dev-server` serves an offline one and prints the two lines to export.
    """


_var_option = click.option(
    "--var",
    "var_items",
    multiple=True,
    metavar="KEY=VALUE",
    help="Set a template variable (over the spec's vars); repeatable.",
)
_session_option = click.option(
    "--session",
    metavar="ID",
    help="Keep the conversation in a durable session (saved after every turn; $AGENTKIT_SESSIONS).",
)
_verbose_option = click.option(
    "--verbose/--quiet",
    "-v/-q",
    default=None,
    help="Show tool calls and usage on stderr (default: when stderr is a terminal).",
)


_agent_options = [
    click.option("--model", "-m", help="The model (instead of the spec's); with no spec, a plain agent on it."),
    click.option("--system", "-s", help="The system prompt of an agent given by -m or -a (a Jinja template)."),
    click.option(
        "--agent",
        "-a",
        "agent_path",
        metavar="MODULE:AGENT",
        help="Run an Agent defined in Python (an instance or a subclass).",
    ),
    click.option(
        "--tool",
        "tools",
        multiple=True,
        metavar="MODULE:FUNCTION",
        help="Give the agent this Python function as a tool; repeatable.",
    ),
    click.option(
        "--trace",
        metavar="console|otlp|URL",
        help="Trace the run with OpenTelemetry: spans to stderr, or to an OTLP collector (needs opentelemetry-sdk).",
    ),
]


def _agent_selection(command: Any) -> Any:
    for option in reversed(_agent_options):
        command = option(command)
    return command


@main.command()
@click.argument("arguments", nargs=-1, metavar="[SPEC] [PROMPT...]")
@_agent_selection
@_var_option
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON (with --stream: JSON lines of events).")
@click.option(
    "--stream/--no-stream",
    default=None,
    help="Print the answer as it arrives (default: when stdout is a terminal).",
)
@_session_option
@_verbose_option
def run(
    arguments: tuple[str, ...],
    model: str | None,
    system: str | None,
    agent_path: str | None,
    tools: tuple[str, ...],
    trace: str | None,
    var_items: tuple[str, ...],
    as_json: bool,
    stream: bool | None,
    session: str | None,
    verbose: bool | None,
) -> None:
    """Run an agent once on a prompt.

    The agent is the YAML file SPEC, or a plain agent on a model (-m MODEL, with -s SYSTEM), or
    one defined in Python (-a module:agent); --tool adds Python functions as tools. PROMPT is
    the remaining arguments, or stdin when absent or -. Prints the answer (a typed output as
    JSON). Exit codes: 0 success, 1 the run failed, 2 a bad spec or bad usage, 130 interrupted.

    \b
      agentkit run -m claude-haiku-4-5 "What is 2+2?"
      agentkit run -m claude-haiku-4-5 --tool tools:get_weather "Weather in Oslo?"
      agentkit run support.yaml "Where is A-1?" --var shop=Acme
      agentkit run -a myagents:support "Where is A-1?"
    """
    from ._cli_agents import CommandLine, split_arguments

    spec, prompt = split_arguments(arguments, spec_given_otherwise=bool(model or agent_path))
    variables = _parse_vars(var_items)
    line = CommandLine(spec, model, system, agent_path, tools, variables)
    agent = _agent(line)
    text = _read_prompt(prompt)
    streaming = sys.stdout.isatty() and not as_json if stream is None else stream
    import anyio

    from ._cli_runs import Printer, Spinner, error_json, print_failure, print_usage, result_json, run_printed
    from .errors import AgentkitError, RunError

    progress = _show_progress(verbose) and not (as_json and streaming)
    printer = Printer(
        text=streaming and not as_json,
        progress=progress,
        json_lines=as_json and streaming,
        spinner=Spinner(enabled=None if not as_json else False),
        model=agent.model,
    )
    stop_tracing = _start_tracing(trace)

    async def once() -> RunResult[Any]:
        try:
            return await run_printed(agent, text, printer, variables=variables, session=session)
        finally:
            await agent.aclose()

    try:
        result = anyio.run(once)
    except RunError as exc:
        if printer.json_lines:
            click.echo(error_json(exc))
        print_failure(exc, printed_partial=printer.text)
        stop_tracing()
        raise click.exceptions.Exit(RUN_FAILED) from None
    except AgentkitError as exc:  # a busy session, a failing store, a prompt the API would refuse
        if printer.json_lines:
            click.echo(error_json(exc))
        stop_tracing()
        code, message = exit_code(exc)
        _fail(message, code)
    except KeyboardInterrupt:
        kept = f"; session {session!r} keeps every completed turn" if session else ""
        click.echo(f"Interrupted{kept}", err=True)
        sys.stdout.flush()
        sys.stderr.flush()
        # A sync tool still sleeping in a worker thread cannot be stopped, and would hold the exit.
        os._exit(INTERRUPTED)
    stop_tracing()
    if printer.json_lines:
        pass  # the last JSON line was the result
    elif as_json:
        click.echo(result_json(result))
    elif not printer.text or not isinstance(result.output, str):
        from ._cli_runs import format_output

        click.echo(format_output(result.output))
    if progress:
        print_usage(result.usage)


@main.command()
@click.argument("spec", required=False, type=click.Path(dir_okay=False))
@_agent_selection
@_var_option
@click.option("--stream/--no-stream", default=True, help="Print each answer as it arrives (default: on).")
@_session_option
@_verbose_option
def chat(
    spec: str | None,
    model: str | None,
    system: str | None,
    agent_path: str | None,
    tools: tuple[str, ...],
    trace: str | None,
    var_items: tuple[str, ...],
    stream: bool,
    session: str | None,
    verbose: bool | None,
) -> None:
    """Chat with an agent.

    The agent is the YAML file SPEC, a plain agent on a model (-m MODEL), or one defined in
    Python (-a module:agent). Each message is answered with the whole conversation so far
    (within the agent's memory budget). On a terminal: line editing and history, a line ending
    in \\ continues, \"\"\" starts and ends a multi-line message, and /help lists the
    commands (/exit, /clear, /usage, ...), which are never sent to the model. Piped input is
    read a line per message. Ctrl-C cancels the turn under way and returns to the prompt;
    Ctrl-C at the prompt, or Ctrl-D right after a cancelled turn, leaves (exit code 130).
    """
    from ._cli_agents import CommandLine
    from ._cli_chat import chat_loop

    variables = _parse_vars(var_items)
    agent = _agent(CommandLine(spec, model, system, agent_path, tools, variables))
    stop_tracing = _start_tracing(trace)
    try:
        code, interrupted = chat_loop(
            agent, variables, sys.stdin, progress=_show_progress(verbose), session=session, stream=stream
        )
    finally:
        stop_tracing()
    if interrupted:  # a sync tool of a cancelled turn may still sleep in a worker thread, and would hold the exit
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    if code:
        raise click.exceptions.Exit(code)


@main.command("dev-server")
@click.option("--port", type=int, default=8765, show_default=True, help="The port on 127.0.0.1 (0: any free one).")
@click.option(
    "--reply", "replies", multiple=True, metavar="TEXT", help="Answer the first requests with TEXT; repeatable."
)
@click.option(
    "--latency", type=float, default=0.0, metavar="SECONDS", help="Wait before each answer (to see the spinner)."
)
def dev_server(port: int, replies: tuple[str, ...], latency: float) -> None:
    """Serve an offline Messages API to try agentkit with no key.

    Starts agentkit's loopback Messages API (the one the tests use) with an echoing model, prints
    the ANTHROPIC_BASE_URL and ANTHROPIC_API_KEY lines to export in another shell, and serves
    until Ctrl-C. The model echoes the prompt, calls a tool the prompt names, fills a typed
    output from its schema, and answers an unknown model id with a 404 as the API does.
    """
    from .testing._playground import serve

    serve(port=port, replies=replies, latency=latency)


@main.command()
@click.argument("specs", nargs=-1, required=True, type=click.Path(dir_okay=False))
def validate(specs: tuple[str, ...]) -> None:
    """Check specs without sending a request.

    Checks each spec's settings, renders its system prompt with its vars, imports its tools and
    its output model. Prints each problem as file:line:column and exits 2 if any spec has one.

    Validating runs code: the modules named under tools: and output: are imported, and importing
    a module runs it. Validate only specs whose Python modules you trust, as you would before
    running them.
    """
    from .errors import AgentkitError, SpecError
    from .spec import load_spec

    invalid = 0
    for path in specs:
        try:
            loaded = load_spec(path)
            problems = loaded.check_template(loaded.spec.vars)
            if problems:
                raise SpecError(problems)
            agent = loaded.agent()
        except AgentkitError as exc:
            invalid += 1
            click.echo(exit_code(exc)[1], err=True)
            continue
        except Exception as exc:  # a bug in agentkit: still one line naming the spec, and no traceback
            invalid += 1
            problem = f"agentkit failed to check this spec ({type(exc).__name__}: {exc}); please report it"
            click.echo(f"{path}: {problem}", err=True)
            continue
        click.echo(f"{path}: ok ({_summary(agent, loaded)})")
    if invalid:
        raise click.exceptions.Exit(BAD_SPEC)


@main.command()
def schema() -> None:
    """Print the JSON Schema of spec files.

    For editor completion and checks, e.g. `agentkit schema > agent.schema.json`.
    """
    import json

    from .spec import spec_json_schema

    click.echo(json.dumps(spec_json_schema(), indent=2))


# -- helpers -----------------------------------------------------------------------------------


def _fail(message: str, code: int) -> NoReturn:
    click.echo(message, err=True)
    raise click.exceptions.Exit(code)


def _parse_vars(items: tuple[str, ...]) -> dict[str, str]:
    variables = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"{item!r} is not KEY=VALUE", param_hint="--var")
        variables[key.strip()] = value
    return variables


def _read_prompt(prompt: str | None) -> str:
    if prompt is not None and prompt != "-":
        return prompt
    stdin = sys.stdin
    if prompt is None and stdin.isatty():
        raise click.UsageError("give a PROMPT, or pipe one on stdin")
    text = stdin.read().strip()
    if not text:
        raise click.UsageError("the prompt read from stdin is empty")
    return text


def _agent(line: Any) -> Agent:
    """The agent the command line names (see `_cli_agents`); exits 2 on a spec or usage problem."""
    from ._cli_agents import build_agent

    agent = build_agent(line)
    if not (os.environ.get("ANTHROPIC_API_KEY") or os.environ.get("ANTHROPIC_AUTH_TOKEN")) and agent.client is None:
        _fail(
            "Error: set ANTHROPIC_API_KEY (and ANTHROPIC_BASE_URL for another endpoint) to run an agent; "
            "`agentkit dev-server` starts an offline one and prints the lines to export",
            BAD_SPEC,
        )
    return agent


def _start_tracing(target: str | None) -> Callable[[], None]:
    if target is None:
        return lambda: None
    from ._cli_trace import start_tracing

    return start_tracing(target)


def _show_progress(verbose: bool | None) -> bool:
    return sys.stderr.isatty() if verbose is None else verbose


def _summary(agent: Agent, loaded: LoadedSpec) -> str:
    parts = [f"agent '{agent.name}'", f"model {agent.model}"]
    if agent.toolset:
        parts.append(f"tools: {', '.join(agent.toolset)}")
    if loaded.output_type is not None:
        parts.append(f"output: {getattr(loaded.output_type, '__name__', loaded.output_type)}")
    return ", ".join(parts)


from ._cli_sessions import sessions  # noqa: E402 - the command group lives in its own module

main.add_command(sessions)
from ._cli_durable import approve, worker  # noqa: E402 - `agentkit worker`/`approve` (agentkit[dbos])

main.add_command(worker)
main.add_command(approve)
from ._cli_batch import batch  # noqa: E402 - `agentkit batch` (agentkit/_cli_batch.py)

main.add_command(batch)


if __name__ == "__main__":  # pragma: no cover - `python -m agentkit.cli`
    main()
