"""Import paths (`package.module:name`, or `package.module:Class.attribute`) resolved to objects.

Search rule: the folder of the spec file that names the path, then the current directory, then
the installed modules (`sys.path`), so a `tools.py` next to the YAML and a package of the project a
command runs from both import without installing anything.

`sys.path` is never changed. A module found in one of those folders is loaded from its file, as a
submodule of a private package named after the folder's resolved path
(`_agentkit_local_agents_1f2e3d4c5b6a.tools`), so:

- an `anthropic.py` or `sqlite3.py` beside a spec (or in the current directory) never replaces the
  SDK or the standard library for the process, whatever the spec names;
- two folders that each have a `tools.py` give two modules, each spec its own;
- a local module imports its siblings relatively (`from . import helpers`, `from .helpers import x`).

A module the installed packages provide from the very same file (an editable install of the project
a command runs in) is imported under its own name, so it is never loaded twice. Failures are one
sentence naming what is missing and the closest name that exists.
"""

from __future__ import annotations

import difflib
import hashlib
import importlib
import importlib.util
import inspect
import os
import pkgutil
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any, Literal

from .source import suggest

Kind = Literal["function", "class"]
LOCAL_PREFIX = "_agentkit_local_"


class ImportProblem(Exception):
    """An import path that names nothing importable; the message says what is missing."""


def import_object(target: str, base_dir: Path, kind: Kind) -> Any:
    """The object `target` names, its module searched in `base_dir`, the current directory, then installed."""
    module_name, _, attributes = target.partition(":")
    if not module_name or not attributes or " " in target or not _is_dotted_name(module_name):
        head, _, tail = target.strip().rpartition(".")
        hint = f"; did you mean '{head}:{tail}'?" if head and tail and ":" not in target else ""
        raise ImportProblem(f"'{target}' is not an import path; write it as 'package.module:{kind}'{hint}")
    module = _import(module_name, base_dir)
    obj: Any = module
    parts = attributes.split(".")
    for n, part in enumerate(parts):
        if not part.isidentifier() or not hasattr(obj, part):
            owner = f"module '{module_name}'" if n == 0 else f"'{module_name}:{'.'.join(parts[:n])}'"
            what = kind if n == len(parts) - 1 else "attribute"
            raise ImportProblem(f"{owner} has no {what} '{part}'{_offer(obj, part, kind)}")
        obj = getattr(obj, part)
    return obj


def _is_dotted_name(name: str) -> bool:
    return all(part.isidentifier() for part in name.split("."))


def local_package(folder: Path) -> str:
    """The private package a folder's modules are loaded under, created on first use."""
    folder = folder.resolve()
    digest = hashlib.sha256(str(folder).encode("utf-8", "surrogatepass")).hexdigest()[:12]
    slug = re.sub(r"\W", "_", folder.name, flags=re.ASCII)[:32] or "root"
    name = f"{LOCAL_PREFIX}{slug}_{digest}"
    if name not in sys.modules:
        spec = importlib.util.spec_from_loader(name, loader=None, is_package=True)
        assert spec is not None
        assert spec.submodule_search_locations is not None
        spec.submodule_search_locations.append(str(folder))
        sys.modules[name] = importlib.util.module_from_spec(spec)
    return name


def _local_file(top: str, folder: Path) -> Path | None:
    """The file (or package folder) `top` names in `folder`, if there is one."""
    for candidate in (folder / f"{top}.py", folder / top / "__init__.py"):
        if candidate.is_file():
            return candidate
    return folder / top if (folder / top).is_dir() else None


def _installed_from(top: str, found: Path) -> bool:
    """Whether importing `top` the usual way loads the file `found` (an editable install)."""
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        return False
    if spec is None:
        return False
    places = [spec.origin] if spec.origin else list(spec.submodule_search_locations or [])
    target = found.parent if found.name == "__init__.py" else found
    return any(Path(place).resolve() in (found.resolve(), target.resolve()) for place in places if place)


def _import(module_name: str, base_dir: Path) -> ModuleType:
    top = module_name.partition(".")[0]
    for folder in dict.fromkeys((base_dir.resolve(), Path.cwd().resolve())):
        found = _local_file(top, folder)
        if found is not None and not _installed_from(top, found):
            return _load(f"{local_package(folder)}.{module_name}", module_name, base_dir, folder)
    return _load(module_name, module_name, base_dir, None)


def _load(qualified: str, module_name: str, base_dir: Path, folder: Path | None) -> ModuleType:
    if qualified not in sys.modules:
        importlib.invalidate_caches()  # a module written since the last import (a test, an editor)
    try:
        return importlib.import_module(qualified)
    except ModuleNotFoundError as exc:
        missing = (exc.name or qualified).removeprefix(qualified[: len(qualified) - len(module_name)])
        if module_name == missing or module_name.startswith(missing + "."):
            hint = _similar_module(missing, base_dir)
            shown = os.path.relpath(base_dir)
            shown = str(base_dir.resolve()) if shown.startswith("..") else shown
            where = "" if shown == "." else f"{shown}{os.sep}, then "
            raise ImportProblem(
                f"no module named '{missing}'{hint} (searched {where}the current directory and sys.path)"
            ) from None
        sibling = folder is not None and _local_file(missing.partition(".")[0], folder) is not None
        fix = f"; import it relatively (`from . import {missing}`): agentkit does not add the folder to sys.path"
        raise ImportProblem(f"importing '{module_name}' failed: {exc}{fix if sibling else ''}") from None
    except SyntaxError as exc:
        raise ImportProblem(f"importing '{module_name}' failed: {exc.filename}:{exc.lineno}: {exc.msg}") from None
    except SystemExit as exc:
        raise ImportProblem(f"importing '{module_name}' failed: it called sys.exit({exc.code!r})") from None
    except Exception as exc:
        raise ImportProblem(f"importing '{module_name}' failed: {type(exc).__name__}: {exc}") from None


def _similar_module(missing: str, base_dir: Path) -> str:
    parent, _, leaf = missing.rpartition(".")
    if parent:
        try:
            package = _import(parent, base_dir)
        except ImportProblem:
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
