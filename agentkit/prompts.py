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
import re
import stat
from collections.abc import Callable
from functools import lru_cache, wraps
from pathlib import Path
from typing import Any

import jinja2
from jinja2.exceptions import SecurityError
from jinja2.loaders import split_template_path
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment

from .errors import PromptError

MAX_RENDERED = 2_000_000
"""Characters a system prompt may render to (the largest context window holds fewer)."""
MAX_TEMPLATE_BYTES = 2_000_000
"""Bytes a template file may have."""
_MAX_INT_BITS = 4096
_PADDING_FILTERS = ("center", "indent", "truncate", "wordwrap")
_PADDING_METHODS = frozenset({"center", "ljust", "rjust", "zfill", "expandtabs"})


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
        if self.is_static:
            return self.source
        try:
            return render_bounded(self._template, variables)
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


def render_bounded(template: jinja2.Template, variables: dict[str, Any]) -> str:
    """`template.render(variables)`, stopped with a `SecurityError` past `MAX_RENDERED` characters.

    Args:
        template: A template of `_environment`.
        variables: The template's variables.
    """
    parts, size = [], 0
    for part in template.generate(variables):
        size += len(part)
        if size > MAX_RENDERED:
            raise SecurityError(f"the prompt renders to more than {MAX_RENDERED:,} characters")
        parts.append(part)
    return "".join(parts)


class _BoundedSandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox, with operators and padding that cannot build huge values."""

    intercepted_binops = frozenset({"*", "**", "%"})

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        for name in _PADDING_FILTERS:
            self.filters[name] = _bounded_widths(self.filters[name], name)
        self.filters["format"] = _bounded_format(self.filters["format"])

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                if isinstance(seq, (str, list, tuple)) and isinstance(times, int) and len(seq) * times > MAX_RENDERED:
                    raise SecurityError(f"{len(seq):,} * {times:,} is longer than {MAX_RENDERED:,} items")
        elif operator == "**" and isinstance(left, int) and isinstance(right, int) and right > 0:
            if abs(left) > 1 and right * abs(left).bit_length() > _MAX_INT_BITS:
                raise SecurityError(f"{left} ** {right} is too large a number for a template")
        elif operator == "%" and isinstance(left, str):
            _check_format(left, right if isinstance(right, tuple) else (right,))
        return super().call_binop(context, operator, left, right)

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(getattr(__obj, "__self__", None), str) and getattr(__obj, "__name__", "") in _PADDING_METHODS:
            _check_widths(__obj.__name__, args, kwargs)
        return super().call(__context, __obj, *args, **kwargs)


def _check_widths(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    for value in (*args, *kwargs.values()):
        if isinstance(value, int) and not isinstance(value, bool) and value > MAX_RENDERED:
            raise SecurityError(f"{name} with {value:,}: widths above {MAX_RENDERED:,} are refused")


_WIDTHS = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?")


def _check_format(template: str, args: tuple[Any, ...]) -> None:
    """Refuse a %-format whose widths (written, or given by `*`) would pad past `MAX_RENDERED`."""
    for match in _WIDTHS.finditer(template):
        for width in match.groups():
            if width == "*":
                _check_widths("%", args, {})
            elif width and len(width) > 7 and int(width) > MAX_RENDERED:
                raise SecurityError(f"a %-format width of {int(width):,}: widths above {MAX_RENDERED:,} are refused")


def _bounded_format(function: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(function)
    def bounded(value: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(value, str):
            _check_format(value, args)
        return function(value, *args, **kwargs)

    return bounded


def _bounded_widths(function: Callable[..., Any], name: str) -> Callable[..., Any]:
    @wraps(function)  # keeps Jinja's pass_context/pass_environment marks
    def bounded(*args: Any, **kwargs: Any) -> Any:
        _check_widths(name, args[1:], kwargs)
        return function(*args, **kwargs)

    return bounded


class _BoundedLoader(jinja2.FileSystemLoader):
    """Includes from the template's folder, refusing a file over `MAX_TEMPLATE_BYTES` (Jinja's own
    loader already refuses what is not a regular file)."""

    def get_source(self, environment: jinja2.Environment, template: str) -> tuple[str, str, Callable[[], bool]]:
        pieces = split_template_path(template)  # the file Jinja's loader would read, sized before it is read
        for folder in self.searchpath:
            candidate = os.path.join(folder, *pieces)
            if os.path.isfile(candidate):
                if os.path.getsize(candidate) > MAX_TEMPLATE_BYTES:
                    raise SecurityError(f"{template!r} is larger than {MAX_TEMPLATE_BYTES:,} bytes")
                break
        return super().get_source(environment, template)


@lru_cache(maxsize=64)
def _environment(search_path: str | None) -> ImmutableSandboxedEnvironment:
    loader = _BoundedLoader(search_path) if search_path else None
    return _BoundedSandbox(
        loader=loader,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=False,
        autoescape=False,
    )
