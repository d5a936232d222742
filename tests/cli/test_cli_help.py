"""The help in docs/yaml.md is the real help; `--help` stays light; the console script runs end to end.

To update the docs after changing the CLI: `AGENTKIT_UPDATE_DOCS=1 .venv/bin/pytest tests/cli/test_cli_help.py`.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from click.testing import CliRunner

from agentkit.cli import main
from agentkit.testing import MessagesServer, Reply, tool_use

if TYPE_CHECKING:
    from conftest import Files  # the fixture's type (tests/conftest.py)

DOC = Path(__file__).resolve().parents[2] / "docs" / "yaml.md"
HELP_BLOCK = re.compile(r"^```text\n\$ (agentkit [^\n]*--help)\n(.*?)^```\n", re.S | re.M)
COMMANDS = ["agentkit --help", "agentkit run --help", "agentkit validate --help", "agentkit chat --help"]


def real_help(command: str) -> str:
    result = CliRunner().invoke(main, shlex.split(command)[1:], terminal_width=100)
    assert result.exit_code == 0
    return result.stdout


def test_the_help_in_the_docs_is_the_real_help() -> None:
    page = DOC.read_text(encoding="utf-8")
    if os.environ.get("AGENTKIT_UPDATE_DOCS"):
        page = HELP_BLOCK.sub(lambda m: f"```text\n$ {m[1]}\n{real_help(m[1])}```\n", page)
        DOC.write_text(page, encoding="utf-8")
    blocks = {m[1]: m[2] for m in HELP_BLOCK.finditer(page)}

    assert sorted(blocks) == sorted(COMMANDS)
    for command, shown in blocks.items():
        assert shown == real_help(command), (
            f"docs/yaml.md shows stale `{command}`; run: AGENTKIT_UPDATE_DOCS=1 .venv/bin/pytest {__file__}"
        )


def test_help_imports_neither_the_sdk_nor_the_spec_machinery() -> None:
    code = (
        "import sys\nfrom agentkit.cli import main\n"
        "for args in (['--help'], ['run', '--help'], ['validate', '--help']):\n"
        "    main(args, standalone_mode=False)\n"
        "print(sorted(m for m in ('anthropic', 'pydantic', 'yaml', 'jinja2', 'anyio') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.splitlines()[-1] == "[]"


def test_the_console_script_runs_a_spec_end_to_end(files: Files, messages_server: MessagesServer) -> None:
    script = Path(sys.executable).parent / "agentkit"
    if not script.exists():
        pytest.skip(f"no console script at {script}: install the package (pip install -e .)")
    files.write(
        "shop_tools.py", 'def lookup(order_id: str) -> str:\n    """Look up an order."""\n    return "shipped"\n'
    )
    files.write("agents/support.yaml", "model: claude-haiku-4-5\ntools: [shop_tools:lookup]\nsystem: Hi {{ who }}.\n")
    messages_server.script(Reply([tool_use("lookup", {"order_id": "A-1"})]), Reply.text("It shipped."))
    env = {**os.environ, "ANTHROPIC_BASE_URL": messages_server.url, "ANTHROPIC_API_KEY": "sk-ant-test"}

    done = subprocess.run(
        [str(script), "run", "agents/support.yaml", "--json", "--var", "who=Dana"],
        input="Where is A-1?",
        capture_output=True,
        text=True,
        env=env,
        cwd=files.root,
        timeout=60,
        check=False,
    )

    assert (done.returncode, done.stderr) == (0, "")
    assert json.loads(done.stdout)["output"] == "It shipped."
    assert messages_server.requests[0].body["system"] == "Hi Dana."
    bad = subprocess.run([str(script), "validate", "agents/nope.yaml"], capture_output=True, text=True, check=False)
    assert (bad.returncode, bad.stderr) == (2, "agents/nope.yaml: cannot read the spec: No such file or directory\n")
