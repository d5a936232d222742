"""System prompts as Jinja templates, rendered in a sandbox where an undefined variable is an error.

A prompt that silently renders `{{ user_name }}` as an empty string ships a broken instruction to
the model; StrictUndefined turns it into a `PromptError` before any request is sent.

The sandbox is also bounded, so a template cannot exhaust memory: a rendered prompt is at most
`MAX_RENDERED` characters, `*` and `%` may not build a longer text or list, `**` may not build an
integer of more than `_MAX_INT_BITS` bits, and the padding filters and methods (`center`, `indent`,
`ljust`...) refuse widths above `MAX_RENDERED`. Template files are read only if they are regular
files of at most `MAX_TEMPLATE_BYTES`.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._prompt_limits import MAX_RENDERED as MAX_RENDERED  # re-exported: the documented bounds
from ._prompt_limits import MAX_TEMPLATE_BYTES as MAX_TEMPLATE_BYTES
from .errors import PromptError

if TYPE_CHECKING:
    import jinja2


def read_text_file(path: str | Path, limit: int = MAX_TEMPLATE_BYTES) -> str:
    """The UTF-8 text of a regular file of at most `limit` bytes.

    A FIFO, a device (`/dev/zero`) or a directory is refused without reading it, so a path typed
    by mistake can neither hang nor exhaust memory.

    Args:
        path: The file to read.
        limit: The largest size accepted, in bytes.

    Raises:
        ValueError: The reason the file cannot be read, as a short phrase (`UnicodeDecodeError`,
            a `ValueError`, for text that is not UTF-8).
    """
    try:  # O_NONBLOCK: opening a FIFO with no writer must not block
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except OSError as exc:
        raise ValueError(exc.strerror or str(exc)) from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        kind = "a directory" if stat.S_ISDIR(mode) else "a FIFO" if stat.S_ISFIFO(mode) else "a device"
        raise ValueError(f"not a regular file ({kind})")
    with os.fdopen(fd, "rb") as file:
        data = file.read(limit + 1)
    if len(data) > limit:
        raise ValueError(f"larger than {limit:,} bytes")
    return data.decode("utf-8")


class SystemPrompt:
    """A compiled system prompt template, from a string or from a file.

    Includes in a file template resolve relative to the file's folder.
    """

    def __init__(self, source: str, *, path: Path | None = None) -> None:
        self.source = source
        self.path = path
        self._origin = str(path) if path else "<system>"
        self.is_static = "{" not in source  # no template syntax: nothing to compile, Jinja not loaded
        self._template: jinja2.Template | None = None
        if not self.is_static:
            import jinja2

            from ._jinja import environment

            env = environment(str(path.parent) if path else None)
            try:
                self._template = env.from_string(source)
            except jinja2.TemplateSyntaxError as exc:
                raise PromptError(f"{self._origin}:{exc.lineno}: {exc.message}") from None

    @classmethod
    def from_file(cls, path: str | Path) -> SystemPrompt:
        path = Path(path).resolve()
        try:
            source = read_text_file(path)
        except ValueError as exc:
            raise PromptError(f"system_file {path}: {exc}") from None
        return cls(source, path=path)

    def render(self, variables: dict[str, Any]) -> str:
        """Render with `variables`; an undefined name or a failing expression is a `PromptError`.

        The error names the file and line of the template where it happened: an included
        template's own, followed by where it was included from.

        Args:
            variables: The template's variables (`vars=` of the agent and of the run, merged).
        """
        if self._template is None:
            return self.source
        import jinja2

        from ._jinja import render_bounded, template_location

        try:
            return render_bounded(self._template, variables)
        except jinja2.UndefinedError as exc:
            where = template_location(exc, self._origin)
            raise PromptError(
                f"{where}: {exc.message}; pass it in vars= (have: {sorted(variables) or 'none'})"
            ) from None
        except Exception as exc:  # a failing expression in the template: TemplateError, ZeroDivisionError...
            raise PromptError(f"{template_location(exc, self._origin)}: {exc}") from None
