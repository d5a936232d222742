"""`agentkit` invoked in-process against the offline server, on spec files written by the `files`
fixture (tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from click.testing import CliRunner, Result

from agentkit.testing import MessagesServer

if TYPE_CHECKING:
    from conftest import Files  # tests/conftest.py


class Cli:
    """`agentkit ...` run in-process with click's runner, against the test's messages_server."""

    def __init__(self, url: str, files_root: Path) -> None:
        self.files_root = files_root
        self.env = {"ANTHROPIC_BASE_URL": url, "ANTHROPIC_API_KEY": "sk-ant-test", "ANTHROPIC_AUTH_TOKEN": None}

    def __call__(self, *args: str, input: str | None = None, env: dict[str, str | None] | None = None) -> Result:
        from agentkit.cli import main

        return CliRunner().invoke(
            main, list(args), input=input, env={**self.env, **(env or {})}, catch_exceptions=False
        )


@pytest.fixture
def agentkit(messages_server: MessagesServer, files: Files) -> Cli:
    """The CLI against the test's server, run in the `files` folder."""
    return Cli(messages_server.url, files.root)
