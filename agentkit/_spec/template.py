"""The system prompt of a spec, checked before any request: syntax on load, variables on demand.

A template line is reported where the user wrote it: in the YAML file for an inline `system:`
(line N of a `|` block is N lines below the key), or in the template file for `system_file:`.
"""

from __future__ import annotations

import os
import re
import sys
import time
from collections.abc import Callable
from types import FrameType
from typing import TYPE_CHECKING, Any

import jinja2
from jinja2 import meta

from .._jinja import environment, render_bounded, template_line
from ..prompts import read_text_file
from .source import Loc, Mark, located

if TYPE_CHECKING:
    from ..spec import LoadedSpec


class _Template:
    """The prompt's source, and where each of its lines is written."""

    def __init__(self, loaded: LoadedSpec) -> None:
        self.problems: list[str] = []
        spec, marks = loaded.spec, loaded.marks
        self.loc: Loc = ("system",) if spec.system is not None else ("system_file",)
        self.mark = marks.at(self.loc)
        self.search_path: str | None = None
        self.source: str | None = spec.system
        self.file_display = ""
        path = loaded.system_file
        if path is not None and spec.system_file is not None:
            self.file_display = os.path.normpath(os.path.join(os.path.dirname(self.mark.file), spec.system_file))
            self.search_path = str(path.parent)
            try:
                self.source = read_text_file(path)
            except ValueError as exc:
                self.problems.append(located(self.mark, self.loc, f"cannot read '{self.file_display}': {exc}"))
                self.source = None

    def where(self, line: int, column: int = 1) -> Mark:
        if self.file_display:
            return Mark(self.file_display, line, column, self.mark.path)
        return self.mark.within(line, column)

    def problem(self, line: int, message: str, column: int = 1) -> str:
        return located(self.where(line, column), self.loc, message)

    def parse(self) -> jinja2.nodes.Template | None:
        if self.source is None:
            return None
        try:
            return environment(self.search_path).parse(self.source)
        except jinja2.TemplateSyntaxError as exc:
            self.problems.append(self.problem(exc.lineno, f"template syntax error: {exc.message}"))
            return None


def syntax_problems(loaded: LoadedSpec) -> list[str]:
    """A missing template file or a syntax error, found when the spec is loaded."""
    if loaded.spec.system is None and loaded.spec.system_file is None:
        return []
    template = _Template(loaded)
    template.parse()
    return template.problems


def check_template(loaded: LoadedSpec, variables: dict[str, Any]) -> list[str]:
    """Problems rendering the prompt with `variables`: each undefined name where it is first used,
    else whatever rendering raises (a missing attribute, a failing filter)."""
    if loaded.spec.system is None and loaded.spec.system_file is None:
        return []
    template = _Template(loaded)
    tree = template.parse()
    if tree is None or template.source is None:
        return template.problems
    lines = template.source.splitlines()
    try:
        undefined = meta.find_undeclared_variables(tree) - set(variables)
    except jinja2.TemplateError as exc:  # compiling found an unknown filter or test
        at = getattr(exc, "lineno", None) or 1
        message = getattr(exc, "message", None) or str(exc)
        template.problems.append(template.problem(at, f"the template does not compile: {message}"))
        return template.problems
    found = sorted((_first_use(lines, name), name) for name in undefined)
    for (line, column), name in found:
        fix = f"give it a default under `vars:`, or pass --var {name}=... to `agentkit run`"
        template.problems.append(template.problem(line, f"undefined variable '{name}'; {fix}", column))
    if found:
        return template.problems
    try:
        compiled = environment(template.search_path).from_string(template.source)
        _within(RENDER_SECONDS, lambda: render_bounded(compiled, variables))
    except RecursionError as exc:
        at = int(template_line(exc, "<template>").lstrip(":") or 1)
        message = "it recurses without end (a macro or an include that calls itself)"
        template.problems.append(template.problem(at, f"the template does not render: {message}"))
    except Exception as exc:
        at = int(template_line(exc, "<template>").lstrip(":") or 1)
        template.problems.append(template.problem(at, f"the template does not render: {_explain(exc)}"))
    return template.problems


RENDER_SECONDS = 3.0
"""How long the checked render may take; a prompt renders in milliseconds, a runaway loop never ends."""


class _TooSlow(Exception):
    """Raised inside the template's code when the checked render runs past its time."""


def _within(seconds: float, render: Callable[[], str]) -> str:
    """`render()`, stopped with `_TooSlow` after `seconds`: a tracer checks the clock on each line
    of the template's compiled code (and only there, so the rest runs at full speed)."""
    deadline = time.monotonic() + seconds

    def line(frame: FrameType, event: str, arg: Any) -> Any:
        if time.monotonic() > deadline:
            raise _TooSlow(f"it ran for more than {seconds:g} s (a loop too long?)")
        return line

    def call(frame: FrameType, event: str, arg: Any) -> Any:
        return line if "__jinja_template__" in frame.f_globals or frame.f_code.co_filename == "<template>" else None

    previous = sys.gettrace()
    sys.settrace(call)
    try:
        return render()
    finally:
        sys.settrace(previous)


def _explain(exc: Exception) -> str:
    if isinstance(exc, TypeError) and "no loader" in str(exc):
        return "{% include %}, {% import %} and {% extends %} need a template file; move the prompt to `system_file:`"
    message = getattr(exc, "message", None) or str(exc)
    if isinstance(exc, (jinja2.TemplateError, _TooSlow)):
        return message
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def _first_use(lines: list[str], name: str) -> tuple[int, int]:
    pattern = re.compile(rf"(?<![\w.]){re.escape(name)}\b")
    for number, text in enumerate(lines, start=1):
        for tag in re.finditer(r"\{\{.*?\}\}|\{%.*?%\}", text):
            match = pattern.search(tag.group())
            if match:
                return number, tag.start() + match.start() + 1
    return 1, 1
