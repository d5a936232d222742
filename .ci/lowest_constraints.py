"""Print a pip constraints file pinning every runtime dependency to its floor (`pkg==floor`).

`make test-lowest` installs the package with it into a venv of its own, so the suite runs against
the lowest versions pyproject.toml allows: a floor that does not really work fails there.
Usage: python .ci/lowest_constraints.py [pyproject.toml]
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

_REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*(.*)$")


def floors(pyproject: Path) -> dict[str, str]:
    """Each runtime dependency's name and its `>=` floor; a dependency without one is an error."""
    dependencies = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["dependencies"]
    found: dict[str, str] = {}
    for requirement in dependencies:
        match = _REQUIREMENT.match(requirement.split(";")[0])
        if match is None:
            raise SystemExit(f"{pyproject}: cannot read the requirement {requirement!r}")
        name, spec = match.groups()
        floor = next((part.strip()[2:].strip() for part in spec.split(",") if part.strip().startswith(">=")), None)
        if floor is None:
            raise SystemExit(f"{pyproject}: {requirement!r} has no `>=` floor; give it one")
        found[name] = floor
    return found


if __name__ == "__main__":
    path = Path(sys.argv[1] if len(sys.argv) > 1 else "pyproject.toml")
    for name, floor in floors(path).items():
        print(f"{name}=={floor}")
