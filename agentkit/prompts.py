"""System prompts as Jinja templates, rendered in a sandbox where an undefined variable is an error.

A prompt that silently renders `{{ user_name }}` as an empty string ships a broken instruction to
the model; StrictUndefined turns it into a `PromptError` before any request is sent.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment

from .errors import PromptError


class SystemPrompt:
    """A compiled system prompt template, from a string or from a file.

    Includes in a file template resolve relative to the file's folder.
    """

    def __init__(self, source: str, *, path: Path | None = None) -> None:
        self.source = source
        self.path = path
        self._origin = str(path) if path else "<system>"
        env = _environment(str(path.parent) if path else None)
        try:
            self._template = env.from_string(source)
        except jinja2.TemplateSyntaxError as exc:
            raise PromptError(f"{self._origin}:{exc.lineno}: {exc.message}") from None
        self.is_static = "{" not in source

    @classmethod
    def from_file(cls, path: str | Path) -> SystemPrompt:
        path = Path(path).resolve()
        try:
            source = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise PromptError(f"system_file {path}: {exc.strerror}") from None
        return cls(source, path=path)

    def render(self, variables: dict[str, Any]) -> str:
        """Render with `variables`; an undefined name or a failing expression is a `PromptError`.

        The error names the file and line of the template where it happened: an included
        template's own, followed by where it was included from.

        Args:
            variables: The template's variables (`vars=` of the agent and of the run, merged).
        """
        if self.is_static:
            return self.source
        try:
            return self._template.render(variables)
        except jinja2.UndefinedError as exc:
            where = _template_location(exc, self._origin)
            raise PromptError(
                f"{where}: {exc.message}; pass it in vars= (have: {sorted(variables) or 'none'})"
            ) from None
        except Exception as exc:  # a failing expression in the template: TemplateError, ZeroDivisionError...
            raise PromptError(f"{_template_location(exc, self._origin)}: {exc}") from None


def _template_location(exc: BaseException, origin: str) -> str:
    """`file:line` of the innermost template frame in the traceback (Jinja keeps template lines
    as Python lines), then the frames that included it: `part.txt:3 (included from main.txt:2)`.

    Jinja runs each template frame of a rewritten traceback in globals holding
    `__jinja_exception__` (`jinja2.debug.fake_traceback`); the top-level template of a string
    prompt is `<template>`, which is `origin` here, and an included one carries its file name.
    """
    frames: list[str] = []
    tb = exc.__traceback__
    while tb is not None:
        code = tb.tb_frame.f_code
        if "__jinja_exception__" in tb.tb_frame.f_globals or code.co_filename in ("<template>", origin):
            name = origin if code.co_filename == "<template>" else code.co_filename
            frames.append(f"{name}:{tb.tb_lineno}")
        tb = tb.tb_next
    if not frames:
        return origin
    innermost, outer = frames[-1], frames[-2::-1]
    return innermost + "".join(f" (included from {frame})" for frame in outer)


def _template_line(exc: BaseException, origin: str) -> str:
    """The ':line' of the top-level template's frame in the traceback (used by `agentkit._spec`)."""
    tb = exc.__traceback__
    line = ""
    while tb is not None:
        code = tb.tb_frame.f_code
        if code.co_filename in ("<template>", origin):
            line = f":{tb.tb_lineno}"
        tb = tb.tb_next
    return line


@lru_cache(maxsize=64)
def _environment(search_path: str | None) -> ImmutableSandboxedEnvironment:
    loader = jinja2.FileSystemLoader(search_path) if search_path else None
    return ImmutableSandboxedEnvironment(
        loader=loader,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=False,
        autoescape=False,
    )
