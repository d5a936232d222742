"""Spec-local tool modules are loaded by file path: `sys.path` is never changed, nothing is shadowed,
and two folders with a `tools.py` each keep their own."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from agentkit import SpecError, load_agent
from agentkit.spec import load_spec

if TYPE_CHECKING:
    from conftest import Files  # the fixture's type (tests/conftest.py)

HELLO = '''
def hello() -> str:
    """Say where this tool lives."""
    return "{where}"
'''
SHADOWS = 'raise SystemExit("the {name} beside the spec was imported in place of the real one")\n'


def test_loading_a_spec_leaves_sys_path_as_it_was(files: Files) -> None:
    files.write("agents/tools.py", HELLO.format(where="agents"))
    files.write("agents/a.yaml", "model: m\ntools: [tools:hello]\n")
    before = list(sys.path)

    agent = load_agent("agents/a.yaml")

    assert sys.path == before
    assert agent.toolset["hello"].function() == "agents"
    assert "tools" not in sys.modules


def test_two_folders_with_a_tools_py_each_get_their_own(files: Files) -> None:
    for team in ("sales", "support"):
        files.write(f"{team}/tools.py", HELLO.format(where=team))
        files.write(f"{team}/agent.yaml", "model: m\ntools: [tools:hello]\n")

    sales, support = load_agent("sales/agent.yaml"), load_agent("support/agent.yaml")

    assert (sales.toolset["hello"].function(), support.toolset["hello"].function()) == ("sales", "support")
    assert sales.toolset["hello"].function.__module__ != support.toolset["hello"].function.__module__


def test_a_module_in_the_current_directory_is_found_after_the_spec_folder(files: Files) -> None:
    files.write("tools.py", HELLO.format(where="cwd"))
    files.write("shared_tools.py", HELLO.format(where="cwd shared").replace("def hello", "def shared"))
    files.write("agents/tools.py", HELLO.format(where="agents"))
    files.write("agents/a.yaml", "model: m\ntools: [tools:hello, 'shared_tools:shared']\n")

    assert [tool.function() for tool in load_spec("agents/a.yaml").tools] == ["agents", "cwd shared"]


def test_a_local_package_imports_its_own_modules_relatively(files: Files) -> None:
    files.write("myapp/__init__.py", "")
    files.write("myapp/rates.py", "RATE = 0.2\n")
    files.write(
        "myapp/tools.py",
        'from .rates import RATE\n\n\ndef vat(amount: float) -> float:\n    """VAT on an amount."""\n'
        "    return amount * RATE\n",
    )
    files.write("a.yaml", "model: m\ntools: [myapp.tools:vat]\n")

    assert load_agent("a.yaml").toolset["vat"].function(10.0) == 2.0


def test_an_absolute_import_of_a_sibling_says_to_import_it_relatively(files: Files) -> None:
    files.write("agents/helpers.py", "X = 1\n")
    files.write("agents/tools.py", "import helpers\n")
    files.write("agents/a.yaml", "model: m\ntools: [tools:f]\n")

    with pytest.raises(SpecError, match=r"^agents/a\.yaml:2:9: tools\[0\]: ") as caught:
        load_spec("agents/a.yaml")
    assert "No module named 'helpers'; import it relatively (`from . import helpers`)" in str(caught.value)


def test_installed_modules_are_imported_under_their_own_name(
    files: Files, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "site-packages"
    (site / "shop_plugins").mkdir(parents=True)
    (site / "shop_plugins" / "__init__.py").write_text(HELLO.format(where="installed"))
    monkeypatch.syspath_prepend(str(site))  # stands for an installed distribution
    files.write("a.yaml", "model: m\ntools: ['shop_plugins:hello']\n")

    tool = load_agent("a.yaml").toolset["hello"]

    assert (tool.function(), tool.function.__module__) == ("installed", "shop_plugins")


def test_an_editable_install_in_the_current_directory_is_not_loaded_twice(
    files: Files, monkeypatch: pytest.MonkeyPatch
) -> None:
    files.write("proj/__init__.py", HELLO.format(where="project"))
    monkeypatch.syspath_prepend(str(files.root))  # `pip install -e .` of the project we run in
    files.write("a.yaml", "model: m\ntools: ['proj:hello']\n")

    tool = load_agent("a.yaml").toolset["hello"]

    assert tool.function.__module__ == "proj"


def test_a_tool_module_that_exits_is_a_spec_error(files: Files) -> None:
    files.write("quitter.py", "import sys\nsys.exit(3)\n")
    files.write("a.yaml", "model: m\ntools: [quitter:f]\n")

    with pytest.raises(
        Exception, match=r"^a.yaml:2:9: tools\[0\]: importing 'quitter' failed: it called sys.exit\(3\)$"
    ):
        load_spec("a.yaml")


@pytest.mark.parametrize("command", ["module", "script"])
def test_an_sdk_or_stdlib_named_file_beside_the_spec_or_in_the_cwd_shadows_nothing(files: Files, command: str) -> None:
    for folder in ("", "agents/"):  # the current directory, and the spec's folder
        files.write(f"{folder}anthropic.py", SHADOWS.format(name="anthropic.py"))
        files.write(f"{folder}sqlite3.py", SHADOWS.format(name="sqlite3.py"))
    files.write(
        "agents/tools.py",
        'import sqlite3\n\n\ndef where() -> str:\n    """The sqlite3 module in use."""\n    return sqlite3.__file__\n',
    )
    files.write("agents/a.yaml", "model: claude-haiku-4-5\ntools: [tools:where]\n")
    script = Path(sys.executable).with_name("agentkit")
    argv = [sys.executable, "-m", "agentkit"] if command == "module" else [str(script)]
    env = {**os.environ, "ANTHROPIC_API_KEY": "sk-ant-test"}

    result = subprocess.run(
        [*argv, "validate", "agents/a.yaml"], capture_output=True, text=True, timeout=60, env=env, check=False
    )

    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == "agents/a.yaml: ok (agent 'a', model claude-haiku-4-5, tools: where)\n"
