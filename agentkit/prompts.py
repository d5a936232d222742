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
        """Render with `variables`; an undefined name or a failing expression is a `PromptError`."""
        if self.is_static:
            return self.source
        try:
            return self._template.render(variables)
        except jinja2.UndefinedError as exc:
            line = _template_line(exc, self._origin)
            raise PromptError(
                f"{self._origin}{line}: {exc.message}; pass it in vars= (have: {sorted(variables) or 'none'})"
            ) from None
        except Exception as exc:  # a failing expression in the template: TemplateError, ZeroDivisionError...
            raise PromptError(f"{self._origin}{_template_line(exc, self._origin)}: {exc}") from None


def _template_line(exc: BaseException, origin: str) -> str:
    """The ':line' of the template frame in the traceback, which Jinja keeps as a Python line."""
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
