"""`agentkit` invoked in-process against the offline server, on spec files written into a temporary
folder that is also the current directory (so errors read `support.yaml:3:5: ...` as a user sees
them); modules imported from there are forgotten after the test."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from agentkit.testing import MessagesServer


class Files:
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
    monkeypatch.setattr(sys, "path", list(sys.path))
    yield Files(tmp_path)
    for name, module in list(sys.modules.items()):
        if str(getattr(module, "__file__", None) or "").startswith(str(tmp_path)):
            del sys.modules[name]


class Cli:
    """`agentkit ...` run in-process with click's runner, against the test's messages_server."""

    def __init__(self, url: str) -> None:
        self.env = {"ANTHROPIC_BASE_URL": url, "ANTHROPIC_API_KEY": "sk-ant-test", "ANTHROPIC_AUTH_TOKEN": None}

    def __call__(self, *args: str, input: str | None = None, env: dict[str, str | None] | None = None) -> Result:
        from agentkit.cli import main

        return CliRunner().invoke(
            main, list(args), input=input, env={**self.env, **(env or {})}, catch_exceptions=False
        )


@pytest.fixture
def agentkit(messages_server: MessagesServer, files: Files) -> Cli:
    return Cli(messages_server.url)
