"""Fixtures every test folder shares."""

from __future__ import annotations

import importlib.util
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

# The optional extras' suites, left out where the extra is not installed (`make test-lowest`
# installs only the runtime dependencies at their floors, with the test tools).
OPTIONAL = {"mcp": "mcp.types", "durable": "dbos"}


def installed(module: str) -> bool:
    """Whether `module` is really installed (tests/mcp itself would pass for a namespace package `mcp`)."""
    try:
        spec = importlib.util.find_spec(module)
    except ImportError:
        return False
    return spec is not None and spec.origin is not None


collect_ignore = [folder for folder, module in OPTIONAL.items() if not installed(module)]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Files:
    """Files written into a temporary folder that is also the current directory, so errors read
    `support.yaml:3:5: ...` as a user would see them; modules loaded from there are forgotten after."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def write(self, name: str, text: str) -> Path:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path


@pytest.fixture
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Files]:
    monkeypatch.chdir(tmp_path)
    yield Files(tmp_path)
    for name, module in list(sys.modules.items()):
        places = [getattr(module, "__file__", None) or "", *(getattr(module, "__path__", None) or [])]
        if any(str(place).startswith(str(tmp_path)) for place in places):
            del sys.modules[name]
