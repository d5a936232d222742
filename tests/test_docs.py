"""Every Python snippet in the README and docs runs, and prints what its comments say.

A `print(...)  # expected` line documents its output (or `#> expected` lines after the print, for
an output too long for one line); the test checks it, so the docs cannot drift from the code.
Snippets of one file share a namespace, in order, like a reader's session. Code blocks fit in
88 columns, so the site shows them whole.
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
# `print(...)  # output` on one line, or, for a long output, `#> output` on the lines after it
EXPECTED = re.compile(r"^\s*print\(.*\)  # (.*)$|^\s*#> ?(.*)$", re.M)
WIDTH = 88  # a code block's lines fit the site's column without a scroll bar


def snippets(page: Path) -> list[str]:
    return FENCE.findall(page.read_text(encoding="utf-8"))


@pytest.mark.parametrize("page", [p for p in PAGES if snippets(p)], ids=lambda p: p.name)
def test_snippets_run_and_print_what_they_say(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for package, module in (("agentkit.mcp", "mcp.types"), ("agentkit.durable", "dbos")):
        if package in page.read_text(encoding="utf-8"):
            pytest.importorskip(module, reason=f"{page.name} needs an optional agentkit extra")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    module = types.ModuleType(f"docs_{page.stem}")  # dataclasses look their module up
    monkeypatch.setitem(sys.modules, module.__name__, module)
    namespace = module.__dict__
    for number, code in enumerate(snippets(page), start=1):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(code, f"{page.name}[snippet {number}]", "exec"), namespace)
        expected = [inline or below for inline, below in EXPECTED.findall(code)]
        if expected:
            assert out.getvalue().splitlines() == expected, f"{page.name} snippet {number}"


# A block that opens with `$ agentkit ... --help` is the help as click prints it, 100 columns wide
# (tests/cli/test_cli_help.py writes docs/yaml.md's): it is shown as the terminal shows it.
_HELP = re.compile(r"^\$ agentkit .*--help$")
_WIDE_OK = {"yaml.md"}  # its examples too were written before the 88 columns (not yet rewrapped)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_code_blocks_fit_in_88_columns(page: Path) -> None:
    if page.name in _WIDE_OK:
        pytest.skip("generated help text, and examples not rewrapped yet")
    too_wide, inside, help_text = [], False, False
    lines = page.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines, start=1):
        if line.startswith("```"):
            inside = not inside
            help_text = inside and number < len(lines) and bool(_HELP.match(lines[number]))
        elif inside and not help_text and len(line) > WIDTH:
            too_wide.append(f"{page.name}:{number}: {len(line)} columns")
    assert too_wide == []


def test_no_guide_imports_a_private_module() -> None:
    """Guides use the public API only: what they need is exported (`agentkit.memory`, `agentkit.telemetry`)."""
    private = re.compile(r"^\s*(?:from|import) agentkit(?:\.\w+)*\._\w+.*$", re.M)
    found = {m.group(0).strip() for page in PAGES for code in snippets(page) for m in private.finditer(code)}
    assert found == set(), sorted(found)
