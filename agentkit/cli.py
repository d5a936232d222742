"""The `agentkit` command: run, chat with, and validate YAML agents; print the spec's JSON Schema.

Built on click, not typer: click imports in ~40 ms where typer pulls in rich, and `agentkit --help`
has to answer in well under 0.3 s. For the same reason this module imports only click at the top:
the SDK, pydantic and the spec loader are imported inside the commands that use them.

Exit codes: 0 success, 1 the run failed (an API error, a `RunError`, a busy session, a store that
fails), 2 a bad spec or bad usage (a `ConfigurationError`, an `InputError`), 130 interrupted. Every
`AgentkitError` a command lets through is mapped here, printed without a traceback.
"""

from __future__ import annotations

import os
import sys
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
@click.version_option(package_name="agentkit", message="%(prog)s %(version)s")
def main() -> None:
    """Run agents defined in YAML against Anthropic's Messages API.

    The API key and endpoint come from ANTHROPIC_API_KEY and ANTHROPIC_BASE_URL.
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


@main.command()
@click.argument("spec", type=click.Path(dir_okay=False))
@click.argument("prompt", required=False)
@_var_option
@click.option("--model", "-m", help="Use this model instead of the spec's.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON: output, messages, usage, ...")
@click.option("--stream", is_flag=True, help="Print the answer's text as it arrives.")
@_session_option
@_verbose_option
def run(
    spec: str,
    prompt: str | None,
    var_items: tuple[str, ...],
    model: str | None,
    as_json: bool,
    stream: bool,
    session: str | None,
    verbose: bool | None,
) -> None:
    """Run an agent once on a prompt.

    Runs the agent that the YAML file SPEC defines on PROMPT, read from stdin when it is absent
    or -, and prints the answer (a typed output as JSON). Exit codes: 0 success, 1 the run
    failed, 2 a bad spec or bad usage.
    """
    if as_json and stream:
        raise click.UsageError("--json and --stream cannot be used together")
    variables = _parse_vars(var_items)
    text = _read_prompt(prompt)
    agent = _agent(spec, variables, model=model)
    import anyio

    from ._cli_runs import format_output, print_usage, result_json
    from .errors import AgentkitError

    progress = _show_progress(verbose)
    try:
        result = anyio.run(_run_once, agent, text, variables, stream, progress, session)
    except AgentkitError as exc:
        code, message = exit_code(exc)
        _fail(message, code)
    except KeyboardInterrupt:
        kept = f"; session {session!r} keeps every completed turn" if session else ""
        click.echo(f"Interrupted{kept}", err=True)
        sys.stdout.flush()
        sys.stderr.flush()
        # A sync tool still sleeping in a worker thread cannot be stopped, and would hold the exit.
        os._exit(INTERRUPTED)
    if as_json:
        click.echo(result_json(result))
    elif not stream or not isinstance(result.output, str):
        click.echo(format_output(result.output))
    if progress:
        print_usage(result.usage)


@main.command()
@click.argument("spec", type=click.Path(dir_okay=False))
@_var_option
@click.option("--model", "-m", help="Use this model instead of the spec's.")
@_session_option
@_verbose_option
def chat(spec: str, var_items: tuple[str, ...], model: str | None, session: str | None, verbose: bool | None) -> None:
    """Chat with an agent, one prompt per line.

    Reads prompts from stdin, a line each, and answers each with the whole conversation so far
    (kept within the spec's memory budget). /exit or the end of input stops. Ctrl-C cancels the
    turn under way and returns to the prompt; Ctrl-C at the prompt leaves (exit code 130).
    """
    variables = _parse_vars(var_items)
    agent = _agent(spec, variables, model=model)
    from ._cli_runs import chat_loop

    code, interrupted = chat_loop(agent, variables, sys.stdin, progress=_show_progress(verbose), session=session)
    if interrupted:  # a sync tool of a cancelled turn may still sleep in a worker thread, and would hold the exit
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    if code:
        raise click.exceptions.Exit(code)


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


def _agent(path: str, variables: dict[str, str], *, model: str | None) -> Agent:
    """The spec's agent, its template checked with `variables`; exits 2 on any spec problem."""
    from .errors import ConfigurationError, SpecError
    from .spec import load_spec

    try:
        loaded = load_spec(path)
        problems = loaded.check_template({**loaded.spec.vars, **variables})
        if problems:
            raise SpecError(problems)
        agent = loaded.agent(**({"model": model} if model else {}))
    except ConfigurationError as exc:
        _fail(str(exc), BAD_SPEC)
    if not (os.environ.get("ANTHROPIC_API_KEY") or os.environ.get("ANTHROPIC_AUTH_TOKEN")):
        _fail("Error: set ANTHROPIC_API_KEY (and ANTHROPIC_BASE_URL for another endpoint) to run an agent", BAD_SPEC)
    return agent


def _show_progress(verbose: bool | None) -> bool:
    return sys.stderr.isatty() if verbose is None else verbose


async def _run_once(
    agent: Agent, prompt: str, variables: dict[str, str], stream: bool, progress: bool, session: str | None
) -> RunResult[Any]:
    from ._cli_runs import print_events

    try:
        async with agent.stream(prompt, vars=variables, session=session) as run:
            await print_events(run, text=stream, progress=progress)
            assert run.result is not None
            return run.result
    finally:
        await agent.aclose()


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
