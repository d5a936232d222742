"""`agentkit` invoked in-process against the offline server, on spec files written by the `files`
fixture (tests/conftest.py)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner, Result

from agentkit.testing import MessagesServer


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
def agentkit(messages_server: MessagesServer, files: object) -> Cli:
    """The CLI against the test's server, run in the `files` folder."""
    return Cli(messages_server.url)
