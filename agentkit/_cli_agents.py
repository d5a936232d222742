"""The agent an `agentkit run`/`chat` command line stands for: a spec, a model, or a Python agent.

    agentkit run support.yaml "Where is A-1?"             # a YAML spec
    agentkit run -m claude-haiku-4-5 -s "Be brief." "hi"  # no spec: a model, a system prompt
    agentkit run -a mymodule:agent "hi"                   # an Agent defined in Python
    agentkit run -m claude-haiku-4-5 --tool tools:get_weather "Weather in Oslo?"

Imported by the commands only (it loads the spec machinery and the agent). Every mistake is a
`click.UsageError`/`BadParameter` (exit 2) naming the option and the fix.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from .agent import Agent
from .errors import ConfigurationError, SpecError
from .tools import Tool

__all__ = ["CommandLine", "build_agent", "split_arguments", "template_variables"]

_SPEC_SUFFIXES = (".yaml", ".yml")


@dataclass
class CommandLine:
    """What selects and adjusts the agent, as parsed by click."""

    spec: str | None = None
    model: str | None = None
    system: str | None = None
    agent_path: str | None = None
    tools: tuple[str, ...] = ()
    variables: dict[str, str] = field(default_factory=dict)


def split_arguments(arguments: tuple[str, ...], *, spec_given_otherwise: bool) -> tuple[str | None, str | None]:
    """(spec, prompt) from the positional arguments.

    The first argument is a spec when it names a .yaml/.yml file or an existing file; the rest is
    the prompt, words joined by spaces (`agentkit run -m MODEL what is 2+2` works unquoted).
    Otherwise every argument is prompt (and -m or -a, `spec_given_otherwise`, names the agent).
    """
    if not arguments:
        return None, None
    first = arguments[0]
    looks_like_spec = first.endswith(_SPEC_SUFFIXES) or (first != "-" and Path(first).is_file())
    if looks_like_spec:
        rest = arguments[1:]
        return first, (" ".join(rest) if rest else None)
    return None, " ".join(arguments)


def build_agent(line: CommandLine) -> Agent:
    """The agent the command line names, with its template checked against `line.variables`.

    Raises:
        click.UsageError: conflicting or missing options; an unknown `--var`.
        click.exceptions.Exit: a spec problem (printed as file:line: ...), exit code 2.
    """
    if line.spec and line.agent_path:
        raise click.UsageError("give a spec file or -a module:agent, not both")
    if not (line.spec or line.model or line.agent_path):
        raise click.UsageError(
            "say which agent: a spec file (agentkit run agent.yaml PROMPT), a model "
            "(-m claude-haiku-4-5), or a Python agent (-a module:agent)"
        )
    tools = [_import_tool(target) for target in line.tools]
    if line.spec:
        agent = _spec_agent(line, tools)
    elif line.agent_path:
        agent = _python_agent(line, tools)
    else:
        assert line.model is not None
        agent = _plain_agent(line, tools)
    check_variables(agent, line.variables, spec=line.spec)
    return agent


def _spec_agent(line: CommandLine, tools: list[Tool]) -> Agent:
    from .spec import load_spec

    if line.system is not None:
        raise click.UsageError(f"{line.spec} sets the system prompt; edit it there, or drop -s/--system")
    try:
        loaded = load_spec(line.spec or "")
        problems = loaded.check_template({**loaded.spec.vars, **line.variables})
        if problems:
            # A --var the template does not read explains an "undefined variable" best (a typo).
            _check_names(_spec_template_variables(loaded), line.variables, where=line.spec or "")
            raise SpecError(problems)
        overrides: dict[str, Any] = {"model": line.model} if line.model else {}
        if tools:
            overrides["tools"] = [*loaded.tools, *tools]
        return loaded.agent(**overrides)
    except ConfigurationError as exc:
        click.echo(str(exc), err=True)
        raise click.exceptions.Exit(2) from None


def _plain_agent(line: CommandLine, tools: list[Tool]) -> Agent:
    try:
        assert line.model is not None
        given: dict[str, Any] = {"system": line.system} if line.system is not None else {}
        return Agent(model=line.model, tools=tools, name="agentkit", **given)
    except ConfigurationError as exc:
        raise click.UsageError(str(exc)) from None


def _python_agent(line: CommandLine, tools: list[Tool]) -> Agent:
    from ._spec.imports import ImportProblem, import_object

    target = line.agent_path or ""
    try:
        found = import_object(target, Path(os.getcwd()), "class")
    except ImportProblem as exc:
        raise click.BadParameter(str(exc), param_hint="-a/--agent") from None
    overrides: dict[str, Any] = {}
    if line.model:
        overrides["model"] = line.model
    if line.system is not None:
        overrides["system"] = line.system
    if tools:
        overrides["tools"] = tools
    if isinstance(found, Agent):
        if overrides:
            raise click.UsageError(
                f"-a {target} is an Agent already built; -m, -s and --tool adjust an Agent subclass "
                "(point -a at the class), or set them in Python"
            )
        return found
    if isinstance(found, type) and issubclass(found, Agent):
        try:
            return found(**overrides)
        except ConfigurationError as exc:
            raise click.UsageError(f"-a {target}: {exc}") from None
    raise click.BadParameter(
        f"'{target}' is a {type(found).__name__}, not an agentkit Agent (an instance or a subclass)",
        param_hint="-a/--agent",
    )


def _import_tool(target: str) -> Tool:
    from ._spec.imports import ImportProblem, import_object

    try:
        function = import_object(target, Path(os.getcwd()), "function")
    except ImportProblem as exc:
        raise click.BadParameter(str(exc), param_hint="--tool") from None
    if isinstance(function, Tool):
        return function
    if not callable(function):
        raise click.BadParameter(f"'{target}' is a {type(function).__name__}, not a function", param_hint="--tool")
    try:
        return Tool(function)
    except ConfigurationError as exc:
        raise click.BadParameter(f"{target}: {exc}", param_hint="--tool") from None


def template_variables(agent: Agent) -> set[str]:
    """The variables the agent's system prompt template reads, and those it has defaults for."""
    names = set(getattr(agent, "vars", None) or {})
    prompt = getattr(agent, "system_prompt", None)
    return names | _template_names(getattr(prompt, "source", None))


def _spec_template_variables(loaded: Any) -> set[str]:
    source = loaded.spec.system
    if source is None and loaded.system_file is not None:
        with contextlib.suppress(OSError, UnicodeDecodeError):
            source = loaded.system_file.read_text(encoding="utf-8")
    return set(loaded.spec.vars) | _template_names(source)


def _template_names(source: Any) -> set[str]:
    import jinja2
    from jinja2 import meta

    if not isinstance(source, str) or "{" not in source:
        return set()
    with contextlib.suppress(jinja2.TemplateError):  # reported by the render check itself
        return set(meta.find_undeclared_variables(jinja2.Environment().parse(source)))
    return set()


def check_variables(agent: Agent, variables: dict[str, str], *, spec: str | None) -> None:
    """A `--var` the template never reads is a mistake (a typo, or the wrong agent): say so."""
    _check_names(template_variables(agent), variables, where=spec or "the system prompt")


def _check_names(known: set[str], variables: dict[str, str], *, where: str) -> None:
    unknown = sorted(set(variables) - known)
    if not unknown:
        return
    have = f"its variables are {', '.join(sorted(known))}" if known else "it uses no variables"
    names = ", ".join(repr(n) for n in unknown)
    raise click.BadParameter(f"{where} does not use {names}; {have}", param_hint="--var")
