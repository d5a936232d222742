"""Spec files as data plus where each value was written, and `extends:` chains merged into one.

PyYAML's safe constructor gives plain data; the composed node tree (the same parse) gives each
key's and value's position. Keeping both lets a pydantic error at `('tools', 1)` be reported at the
line and column the user wrote it on, in whichever file of an `extends` chain wrote it.
"""

from __future__ import annotations

import difflib
import os
import re
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
    """One problem line, `file:line:column: field: message` (a message's own line breaks become spaces)."""
    message = re.sub(r"\s*\n\s*", " ", message.strip())
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


MAX_SPEC_BYTES = 1_000_000
"""The largest spec file read."""
MAX_DEPTH = 64
"""How deeply a spec's mappings and lists may nest."""
MAX_VALUES = 100_000
"""How many values a spec may hold once its YAML aliases are expanded (a "billion laughs" holds 10^9)."""


class _BoundedLoader(yaml.SafeLoader):
    """The safe loader, refusing nesting past `MAX_DEPTH` and noting where each alias is used,
    so that neither a deep file nor an alias bomb can exhaust the stack, the memory or the clock."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.depth = 0
        self.aliases: list[tuple[yaml.Node, yaml.Mark]] = []

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
            node = super().compose_node(parent, index)
            if node is not None:
                self.aliases.append((node, mark))
            return node
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                problem = f"values nested more than {MAX_DEPTH} deep; a spec's settings need far fewer levels"
                mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
                raise yaml.composer.ComposerError(None, None, problem, mark)
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except yaml.YAMLError:
            raise
        except (ValueError, TypeError, OverflowError) as exc:  # a date like 2024-13-45, an int of 5,000 digits
            problem = "a number too long to read" if "integer string conversion" in str(exc) else str(exc)
            raise yaml.constructor.ConstructorError(None, None, problem, node.start_mark) from None


def read_yaml(path: Path, display: str) -> tuple[Any, Marks]:
    """Parse one file with the safe loader: its data and the position of every key and value."""
    from ..prompts import read_text_file

    try:
        text = read_text_file(path, MAX_SPEC_BYTES)
    except UnicodeDecodeError as exc:
        before = exc.object[: exc.start]
        line, column = before.count(b"\n") + 1, len(before) - before.rfind(b"\n")
        problem = f"byte 0x{exc.object[exc.start]:02x} is not UTF-8 text; save the file as UTF-8"
        raise SpecError([f"{display}:{line}:{column}: cannot read the spec: {problem}"]) from None
    except ValueError as exc:
        raise SpecError([f"{display}: cannot read the spec: {exc}"]) from None
    loader = None
    try:
        loader = _BoundedLoader(text)  # the reader refuses control characters here already
        node = loader.get_single_node()
        if node is not None:
            _check_expansion(node, loader.aliases, display)
        data = loader.construct_document(node) if node is not None else None
    except yaml.reader.ReaderError as exc:
        line, column = _line_column(text, exc.position)
        code = exc.character if isinstance(exc.character, int) else ord(str(exc.character)[:1] or "\0")
        problem = (
            f"the control character #x{code:04x} ({exc.reason}); remove it, or write it as an escape in double quotes"
        )
        raise SpecError([f"{display}:{line}:{column}: invalid YAML: {problem}"]) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{display}:{mark.line + 1}:{mark.column + 1}" if mark else display
        what = " ".join(part for part in (exc.context, exc.problem) if part)
        raise SpecError([f"{where}: invalid YAML: {what}"]) from None
    except (yaml.YAMLError, ValueError, TypeError, OverflowError) as exc:
        raise SpecError([f"{display}:1:1: invalid YAML: {exc}"]) from None
    finally:
        if loader is not None:
            loader.dispose()
    marks = Marks(Mark(display, 1, 1, path))
    if node is not None:
        _record(node, (), marks, _Positions(display, path, text.splitlines()), set())
    return data, marks


def _line_column(text: str, position: int) -> tuple[int, int]:
    return text.count("\n", 0, position) + 1, position - text.rfind("\n", 0, position)


def _check_expansion(root: yaml.Node, aliases: list[tuple[yaml.Node, yaml.Mark]], display: str) -> None:
    """Refuse a document whose aliases expand past `MAX_VALUES` values, at the alias that costs most."""
    if not aliases:
        return  # without aliases the node count is bounded by the file's size
    sizes: dict[int, int] = {}

    def size(node: yaml.Node) -> int:  # the composer bounded the depth, so recursion is safe
        known = sizes.get(id(node))
        if known is None:
            if isinstance(node, yaml.MappingNode):
                known = 1 + sum(size(k) + size(v) for k, v in node.value)
            elif isinstance(node, yaml.SequenceNode):
                known = 1 + sum(size(item) for item in node.value)
            else:
                known = 1
            sizes[id(node)] = known = min(known, MAX_VALUES + 1)
        return known

    if size(root) <= MAX_VALUES:
        return
    _, mark = max(reversed(aliases), key=lambda alias: size(alias[0]))
    raise SpecError(
        [
            f"{display}:{mark.line + 1}:{mark.column + 1}: invalid YAML: the aliases expand to more than "
            f"{MAX_VALUES:,} values; write the values out, or repeat fewer of them"
        ]
    )


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
