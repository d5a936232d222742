"""Move the exact pins of the named dev tools in pyproject.toml to their newest releases.

Usage: python .ci/upgrade_dev_tools.py pyproject.toml ruff mypy
Asks the package index through pip (`pip index versions NAME`), edits `"NAME==X"` in place, and
prints each change; `make upgrade-dev-tools` then reinstalls the dev extra.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path


def newest(name: str) -> str:
    """The newest release of `name` on the index pip is set up to use."""
    out = subprocess.run(
        [sys.executable, "-m", "pip", "index", "versions", name], capture_output=True, text=True, check=True
    ).stdout
    match = re.search(rf"^{re.escape(name)} \(([^)]+)\)", out, re.MULTILINE | re.IGNORECASE)
    if match is None:
        raise SystemExit(f"pip index versions {name}: no version found in {out!r}")
    return match.group(1)


def main(path: Path, names: list[str]) -> None:
    text = path.read_text(encoding="utf-8")
    for name in names:
        pin = re.compile(rf'"{re.escape(name)}==([^"]+)"')
        old = pin.search(text)
        if old is None:
            raise SystemExit(f'{path}: no exact pin "{name}==..." to upgrade')
        version = newest(name)
        text = pin.sub(f'"{name}=={version}"', text)
        print(f"{name}: {old.group(1)} -> {version}")
    path.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2:])
