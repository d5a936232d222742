"""Split a docstring into the tool's description and its parameters' descriptions.

Google (`Args:`), Sphinx (`:param x:`) and numpy (`Parameters` + dashes) styles are read, so
whichever a codebase already uses reaches the model without being rewritten. A small parser
instead of a dependency: tools are built at import time, and this is all we need.
"""

from __future__ import annotations

import inspect
import re

__all__ = ["parse_docstring"]

_GOOGLE_HEADER = re.compile(r"^\s*([A-Z][A-Za-z ]*):\s*$")
_GOOGLE_PARAM_SECTIONS = {"args", "arguments", "parameters", "params", "keyword args", "keyword arguments"}
_GOOGLE_SECTIONS = _GOOGLE_PARAM_SECTIONS | {
    "kwargs", "other parameters", "returns", "return", "yields", "yield", "raises", "raise",
    "examples", "example", "note", "notes", "attributes", "see also", "warning", "warnings",
    "todo", "references",
}  # fmt: skip
_GOOGLE_ENTRY = re.compile(r"^\*{0,2}(\w+)\s*(?:\([^)]*\))?\s*:(.*)$")
_SPHINX_FIELD = re.compile(r"^\s*:(\w+)(?:\s+([^:]*?))?\s*:(.*)$")
_NUMPY_UNDERLINE = re.compile(r"^\s*-{3,}\s*$")
_NUMPY_PARAM_SECTIONS = {"parameters", "other parameters", "params"}


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _join(parts: list[str]) -> str:
    return " ".join(p.strip() for p in parts if p.strip())


def _is_numpy_header(lines: list[str], i: int) -> bool:
    return i + 1 < len(lines) and bool(lines[i].strip()) and bool(_NUMPY_UNDERLINE.match(lines[i + 1]))


def _section_start(lines: list[str], i: int) -> bool:
    header = _GOOGLE_HEADER.match(lines[i])
    if header and header.group(1).lower() in _GOOGLE_SECTIONS:
        return True
    return _is_numpy_header(lines, i) or bool(_SPHINX_FIELD.match(lines[i]))


def _google_params(lines: list[str], start: int, out: dict[str, str]) -> None:
    """Read the entries under the header at `start` until the text dedents back to it."""
    base = _indent(lines[start])
    entry_indent: int | None = None
    name: str | None = None
    parts: list[str] = []
    for line in lines[start + 1 :]:
        if not line.strip():
            continue
        indent = _indent(line)
        if indent <= base:
            break
        if entry_indent is None:
            entry_indent = indent
        match = _GOOGLE_ENTRY.match(line.strip()) if indent == entry_indent else None
        if match:
            if name:
                out.setdefault(name, _join(parts))
            name, parts = match.group(1), [match.group(2)]
        elif name:
            parts.append(line)
    if name:
        out.setdefault(name, _join(parts))


def _numpy_params(lines: list[str], start: int, out: dict[str, str]) -> None:
    """Read `name : type` lines and their indented descriptions up to the next section."""
    base = _indent(lines[start])
    names: list[str] = []
    parts: list[str] = []
    i = start + 2
    while i < len(lines) and not _is_numpy_header(lines, i):
        line = lines[i]
        if line.strip() and _indent(line) <= base:
            for name in names:
                out.setdefault(name, _join(parts))
            names = [n.strip().lstrip("*") for n in line.split(":")[0].split(",") if n.strip()]
            parts = []
        elif line.strip():
            parts.append(line)
        i += 1
    for name in names:
        out.setdefault(name, _join(parts))


def _sphinx_params(lines: list[str], out: dict[str, str]) -> None:
    """Read `:param [type] name: text` fields, continuation lines indented deeper."""
    i = 0
    while i < len(lines):
        match = _SPHINX_FIELD.match(lines[i])
        i += 1
        if not match or match.group(1) not in ("param", "parameter", "arg", "argument", "key", "keyword"):
            continue
        name = (match.group(2) or "").split()[-1:] or [""]
        parts = [match.group(3)]
        base = _indent(lines[i - 1])
        while i < len(lines) and lines[i].strip() and _indent(lines[i]) > base:
            parts.append(lines[i])
            i += 1
        if name[0]:
            out.setdefault(name[0].lstrip("*"), _join(parts))


def parse_docstring(doc: str | None) -> tuple[str, dict[str, str]]:
    """Return the text before the first section, and a description per documented parameter."""
    if not doc:
        return "", {}
    lines = inspect.cleandoc(doc).splitlines()
    end = next((i for i in range(len(lines)) if _section_start(lines, i)), len(lines))
    description = "\n".join(lines[:end]).strip()
    params: dict[str, str] = {}
    for i in range(end, len(lines)):
        header = _GOOGLE_HEADER.match(lines[i])
        if header and header.group(1).lower() in _GOOGLE_PARAM_SECTIONS:
            _google_params(lines, i, params)
        elif _is_numpy_header(lines, i) and lines[i].strip().lower() in _NUMPY_PARAM_SECTIONS:
            _numpy_params(lines, i, params)
    _sphinx_params(lines[end:], params)
    return description, params
