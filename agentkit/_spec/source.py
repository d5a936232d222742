"""Spec files as data plus where each value was written, and `extends:` chains merged into one.

PyYAML's safe constructor gives plain data; the composed node tree (the same parse) gives each
key's and value's position. Keeping both lets a pydantic error at `('tools', 1)` be reported at the
line and column the user wrote it on, in whichever file of an `extends` chain wrote it.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..errors import SpecError

Loc = tuple[str | int, ...]

MERGED_FIELDS = frozenset({"vars", "request_params", "memory"})
"""Mappings an extending spec merges into its base's (deeply, its own values winning); every other
field it sets replaces the base's value whole."""


@dataclass(frozen=True)
class Mark:
    """A position in a spec file: `file` as the user named it, 1-based line and column."""

    file: str
    line: int
    column: int
    path: Path = field(compare=False)  # the real file, whose folder relative paths resolve against
    text_column: int = 0  # a string: the column its text starts at (after a quote)
    block_indent: int | None = None  # a `|` or `>` string: the column its lines start at

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"

    def within(self, text_line: int, text_column: int = 1) -> Mark:
        """Where line `text_line`, column `text_column` (both 1-based) of this string's text is written."""
        if self.block_indent is not None:  # a block scalar's text starts on the line after `|`
            return Mark(self.file, self.line + text_line, self.block_indent + text_column - 1, self.path)
        if text_line == 1:
            return Mark(self.file, self.line, (self.text_column or self.column) + text_column - 1, self.path)
        return Mark(self.file, self.line + text_line - 1, text_column, self.path)


@dataclass
class Marks:
    """Where each value, and each mapping key, of a spec was written, by its location tuple."""

    root: Mark
    values: dict[Loc, Mark] = field(default_factory=dict)
    keys: dict[Loc, Mark] = field(default_factory=dict)

    def at(self, loc: Loc, *, key: bool = False) -> Mark:
        """The mark of `loc` (of its key with `key=True`), else of its nearest written parent."""
        if key and loc in self.keys:
            return self.keys[loc]
        for n in range(len(loc), 0, -1):
            if loc[:n] in self.values:
                return self.values[loc[:n]]
        return self.root

    def problem(self, loc: Loc, message: str, *, key: bool = False) -> str:
        """One error line: `file:line:column: field: message`."""
        return located(self.at(loc, key=key), loc, message)

    def overlaid(self, child: Marks, replaced: Iterable[str]) -> Marks:
        """The marks of a base spec with an extending spec's on top; `replaced` fields drop the base's."""
        gone = set(replaced)
        merged = Marks(child.root)
        for mine, theirs, out in ((self.values, child.values, merged.values), (self.keys, child.keys, merged.keys)):
            out.update({loc: mark for loc, mark in mine.items() if loc[0] not in gone})
            out.update(theirs)
        return merged


def located(mark: Mark, loc: Loc, message: str) -> str:
    return f"{mark}: {field_name(loc)}: {message}" if loc else f"{mark}: {message}"


def field_name(loc: Loc) -> str:
    """`('tools', 1)` -> `tools[1]`, `('memory', 'budget')` -> `memory.budget`."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def suggest(word: str, choices: Iterable[str]) -> str:
    """`; did you mean 'x'?` for the closest choice, or nothing."""
    match = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean '{match[0]}'?" if match else ""


def read_yaml(path: Path, display: str) -> tuple[Any, Marks]:
    """Parse one file with the safe loader: its data and the position of every key and value."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else str(exc)
        raise SpecError([f"{display}: cannot read the spec: {reason}"]) from None
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{display}:{mark.line + 1}:{mark.column + 1}" if mark else display
        what = " ".join(part for part in (exc.context, exc.problem) if part)
        raise SpecError([f"{where}: invalid YAML: {what}"]) from None
    except yaml.YAMLError as exc:
        raise SpecError([f"{display}: invalid YAML: {exc}"]) from None
    finally:
        loader.dispose()
    marks = Marks(Mark(display, 1, 1, path))
    if node is not None:
        _record(node, (), marks, _Positions(display, path, text.splitlines()), set())
    return data, marks


@dataclass(frozen=True)
class _Positions:
    display: str
    path: Path
    lines: list[str]

    def mark(self, node: yaml.Node) -> Mark:
        line, column = node.start_mark.line, node.start_mark.column
        style = node.style if isinstance(node, yaml.ScalarNode) else None
        indent = None
        if style in ("|", ">"):
            text_lines = (s for s in self.lines[line + 1 :] if s.strip())
            first = next(text_lines, "")
            indent = len(first) - len(first.lstrip()) + 1
        quote = 1 if style in ("'", '"') else 0
        return Mark(self.display, line + 1, column + 1, self.path, column + 1 + quote, indent)


def _record(node: yaml.Node, loc: Loc, marks: Marks, where: _Positions, seen: set[int]) -> None:
    """Note the position of everything under `node`. An aliased node is walked once (so a YAML
    bomb costs nothing); its other uses report at their nearest parent."""
    if id(node) in seen:
        return
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        first_line: dict[str, int] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                continue
            key = key_node.value
            if key in first_line:
                at = where.mark(key_node)
                raise SpecError(
                    [located(at, (*loc, key), f"duplicate key (first at line {first_line[key]}); keep one")]
                )
            first_line[key] = key_node.start_mark.line + 1
            marks.keys[(*loc, key)] = where.mark(key_node)
            marks.values[(*loc, key)] = where.mark(value_node)
            _record(value_node, (*loc, key), marks, where, seen)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            marks.values[(*loc, index)] = where.mark(item)
            _record(item, (*loc, index), marks, where, seen)


def read_chain(path: Path, display: str, chain: tuple[Path, ...] = ()) -> tuple[dict[str, Any], Marks]:
    """A spec file's settings with its `extends:` chain merged in (base first, each file winning)."""
    data, marks = read_yaml(path, display)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        kind = type(data).__name__
        raise SpecError([f"{marks.root}: a spec is a mapping of settings (model: ..., system: ...), not a {kind}"])
    if "extends" not in data:
        return data, marks
    ref = data.pop("extends")
    here = (*chain, path.resolve())
    if not isinstance(ref, str) or not ref:
        raise SpecError([marks.problem(("extends",), "give the path of the base spec, relative to this file")])
    base = (path.parent / ref).resolve()
    base_display = os.path.normpath(os.path.join(os.path.dirname(display), ref))
    if base in here:
        cycle = " -> ".join([*(os.path.relpath(p) for p in here[here.index(base) :]), os.path.relpath(base)])
        raise SpecError([marks.problem(("extends",), f"extends cycle: {cycle}; remove one of these `extends`")])
    if not base.is_file():
        siblings = [p.name for p in base.parent.glob("*.y*ml")] if base.parent.is_dir() else []
        hint = suggest(base.name, siblings)
        raise SpecError([marks.problem(("extends",), f"no spec file '{base_display}'{hint}")])
    base_data, base_marks = read_chain(base, base_display, here)
    return merge(base_data, data), base_marks.overlaid(marks, replaced=_replaced(data))


def merge(base: dict[str, Any], child: dict[str, Any]) -> dict[str, Any]:
    """`child` over `base`: `MERGED_FIELDS` merge deeply, other fields are replaced; a child's
    `system` or `system_file` replaces the base's prompt whichever key the base used."""
    out = dict(base)
    if "system" in child or "system_file" in child:
        out.pop("system", None)
        out.pop("system_file", None)
    for key, value in child.items():
        if key in MERGED_FIELDS and isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def _replaced(child: dict[str, Any]) -> set[str]:
    replaced = {key for key in child if key not in MERGED_FIELDS}
    if replaced & {"system", "system_file"}:
        replaced |= {"system", "system_file"}
    return replaced


def _deep_merge(base: dict[str, Any], child: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in child.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out
