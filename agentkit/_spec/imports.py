"""Import paths (`package.module:name`, or `package.module:Class.attribute`) resolved to objects.

Search rule: the folder of the spec file that names the path, then the current directory, then
`sys.path`, so a `tools.py` next to the YAML and a package in the project a command runs from both
import without installing anything. Both folders stay on `sys.path` afterwards, so a module
imported lazily by a tool at run time resolves the same way. Failures are one sentence naming what
is missing and the closest name that exists.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import os
import pkgutil
import sys
from pathlib import Path
from types import ModuleType
from typing import Any, Literal

from .source import suggest

Kind = Literal["function", "class"]


class ImportProblem(Exception):
    """An import path that names nothing importable; the message says what is missing."""


def import_object(target: str, base_dir: Path, kind: Kind) -> Any:
    """The object `target` names, importing its module with `base_dir` searched first."""
    module_name, _, attributes = target.partition(":")
    if not module_name or not attributes or " " in target:
        head, _, tail = target.strip().rpartition(".")
        hint = f"; did you mean '{head}:{tail}'?" if head and tail and ":" not in target else ""
        raise ImportProblem(f"'{target}' is not an import path; write it as 'package.module:{kind}'{hint}")
    _search_first(base_dir)
    module = _import(module_name, base_dir)
    obj: Any = module
    parts = attributes.split(".")
    for n, part in enumerate(parts):
        if not hasattr(obj, part):
            owner = f"module '{module_name}'" if n == 0 else f"'{module_name}:{'.'.join(parts[:n])}'"
            what = kind if n == len(parts) - 1 else "attribute"
            raise ImportProblem(f"{owner} has no {what} '{part}'{_offer(obj, part, kind)}")
        obj = getattr(obj, part)
    return obj


def _search_first(base_dir: Path) -> None:
    for folder in (os.getcwd(), str(base_dir.resolve())):  # inserted in reverse: the spec's folder ends up first
        if folder in sys.path:
            sys.path.remove(folder)
        sys.path.insert(0, folder)


def _import(module_name: str, base_dir: Path) -> ModuleType:
    if module_name not in sys.modules:
        importlib.invalidate_caches()  # a module written since the last import (a test, an editor)
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        missing = exc.name or module_name
        if module_name == missing or module_name.startswith(missing + "."):
            hint = _similar_module(missing, base_dir)
            shown = os.path.relpath(base_dir)
            shown = str(base_dir.resolve()) if shown.startswith("..") else shown
            folder = "" if shown == "." else f"{shown}{os.sep}, then "
            raise ImportProblem(
                f"no module named '{missing}'{hint} (searched {folder}the current directory and sys.path)"
            ) from None
        raise ImportProblem(f"importing '{module_name}' failed: {exc}") from None
    except SyntaxError as exc:
        raise ImportProblem(f"importing '{module_name}' failed: {exc.filename}:{exc.lineno}: {exc.msg}") from None
    except Exception as exc:
        raise ImportProblem(f"importing '{module_name}' failed: {type(exc).__name__}: {exc}") from None


def _similar_module(missing: str, base_dir: Path) -> str:
    parent, _, leaf = missing.rpartition(".")
    if parent:
        try:
            package = importlib.import_module(parent)
        except Exception:
            return ""
        names = [m.name for m in pkgutil.iter_modules(getattr(package, "__path__", []))]
    else:
        names = [m.name for m in pkgutil.iter_modules([str(base_dir), os.getcwd()])]
    match = difflib.get_close_matches(leaf, names, n=1, cutoff=0.6)
    return f"; did you mean '{parent + '.' if parent else ''}{match[0]}'?" if match else ""


def _offer(owner: Any, name: str, kind: Kind) -> str:
    """The closest public name of the right kind in `owner`, or what it has, to fix a typo."""
    from ..tools import Tool

    def fits(value: Any) -> bool:
        if kind == "class":
            return inspect.isclass(value)
        return isinstance(value, Tool) or (callable(value) and not inspect.isclass(value))

    def home(value: Any) -> Any:
        return getattr(value.function if isinstance(value, Tool) else value, "__module__", None)

    members = vars(owner) if hasattr(owner, "__dict__") else {}
    names = [n for n, v in members.items() if not n.startswith("_") and fits(v)]
    if isinstance(owner, ModuleType):  # only what the module defines, not what it imported
        names = [n for n in names if home(members[n]) in (owner.__name__, None)]
    hint = suggest(name, names)
    if hint or not names:
        return hint
    shown = ", ".join(sorted(names)[:8]) + (", ..." if len(names) > 8 else "")
    return f"; it has: {shown}"
