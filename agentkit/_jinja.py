"""The bounded Jinja sandbox system prompts render in (see `agentkit.prompts`).

Kept apart so that an agent whose system prompt is plain text never imports Jinja: only a prompt
with template syntax in it (`{{`, `{%`, `{#`) loads this module.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from functools import lru_cache, wraps
from typing import Any

import jinja2
from jinja2.exceptions import SecurityError
from jinja2.loaders import split_template_path
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment

from ._prompt_limits import MAX_RENDERED, MAX_TEMPLATE_BYTES

_MAX_INT_BITS = 4096
_PADDING_FILTERS = ("center", "indent", "truncate", "wordwrap")
_PADDING_METHODS = frozenset({"center", "ljust", "rjust", "zfill", "expandtabs"})


def template_location(exc: BaseException, origin: str) -> str:
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


def template_line(exc: BaseException, origin: str) -> str:
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
def environment(search_path: str | None) -> ImmutableSandboxedEnvironment:
    loader = _BoundedLoader(search_path) if search_path else None
    return _BoundedSandbox(
        loader=loader,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=False,
        autoescape=False,
    )
