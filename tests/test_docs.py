"""Every Python snippet in the README and docs runs, and prints what its comments say.

A `print(...)  # expected` line documents its output; the test checks it, so the docs cannot
drift from the code. Snippets of one file share a namespace, in order, like a reader's session.
"""

from __future__ import annotations

import contextlib
import io
import re
import sys
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```python\n(.*?)^```", re.S | re.M)
EXPECTED = re.compile(r"^\s*print\(.*\)  # (.*)$", re.M)


def snippets(page: Path) -> list[str]:
    return FENCE.findall(page.read_text(encoding="utf-8"))


@pytest.mark.parametrize("page", [p for p in PAGES if snippets(p)], ids=lambda p: p.name)
def test_snippets_run_and_print_what_they_say(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    module = types.ModuleType(f"docs_{page.stem}")  # dataclasses look their module up
    monkeypatch.setitem(sys.modules, module.__name__, module)
    namespace = module.__dict__
    for number, code in enumerate(snippets(page), start=1):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(code, f"{page.name}[snippet {number}]", "exec"), namespace)
        expected = EXPECTED.findall(code)
        if expected:
            assert out.getvalue().splitlines() == expected, f"{page.name} snippet {number}"
