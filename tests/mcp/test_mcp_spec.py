"""`mcp_servers:` in a YAML spec: stdio and HTTP entries, `${VAR}` from the environment, and every
mistake reported at its file:line like the rest of the spec."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from mcp_helpers import call

from agentkit import SpecError
from agentkit.mcp import MCPServer
from agentkit.spec import load_spec

if TYPE_CHECKING:
    from conftest import Files  # the fixture's type (tests/conftest.py)

SERVER = Path(__file__).resolve().parent / "mcp_test_server.py"


def problems(path: str) -> list[str]:
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    return caught.value.problems


def test_stdio_and_http_servers_load_with_variables_from_the_environment(
    files: Files, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CALC_TOKEN", "s3cret")
    files.write(
        "agents/calc.yaml",
        f"""
        model: claude-haiku-4-5
        mcp_servers:
          calc:
            command: {sys.executable}
            args: [{SERVER}]
            env: {{TOKEN: "${{CALC_TOKEN}}", MODE: plain}}
            prefix: calc_
            tools: [add]
            timeout: 5
          search:
            url: https://search.example.com/mcp
            headers: {{Authorization: "Bearer ${{CALC_TOKEN}}"}}
            requires_approval: [delete]
        """,
    )
    loaded = load_spec("agents/calc.yaml")

    calc, search = loaded.mcp_servers
    assert isinstance(calc, MCPServer)
    assert (calc.name, calc.kind, calc.prefix, calc.timeout) == ("calc", "stdio", "calc_", 5)
    assert calc._target.env == {"TOKEN": "s3cret", "MODE": "plain"}
    assert Path(calc._target.cwd) == files.root / "agents"  # a stdio server runs in the spec's folder
    assert (search.name, search.kind, search._headers) == ("search", "http", {"Authorization": "Bearer s3cret"})
    assert search._approval is not True
    assert search._approval("delete", {}) is True
    assert search._approval("find", {}) is False


@pytest.mark.anyio
async def test_a_loaded_server_runs(files: Files) -> None:
    files.write(
        "calc.yaml",
        f"""
        model: claude-haiku-4-5
        mcp_servers:
          calc: {{command: {sys.executable}, args: [{SERVER}], tools: [add]}}
        """,
    )
    (server,) = load_spec("calc.yaml").mcp_servers
    async with server:
        assert (await call(await server.list_tools(), "add", {"a": 2, "b": 5})).content == "7"


def test_a_missing_variable_is_an_error_at_its_line(files: Files, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_SUCH_TOKEN", raising=False)
    files.write(
        "a.yaml",
        """
        model: claude-haiku-4-5
        mcp_servers:
          search:
            url: https://search.example.com/mcp
            headers:
              Authorization: "Bearer ${NO_SUCH_TOKEN}"
              X-Bad: "${1st}"
        """,
    )
    assert problems("a.yaml") == [
        "a.yaml:6:22: mcp_servers.search.headers.Authorization: environment variable NO_SUCH_TOKEN is not set; "
        "set it (export NO_SUCH_TOKEN=...) or remove the reference",
        "a.yaml:7:14: mcp_servers.search.headers.X-Bad: '${1st}' is not a variable reference; write ${NAME}",
    ]


def test_unknown_keys_and_mixed_transports_are_errors_at_their_lines(files: Files) -> None:
    files.write(
        "a.yaml",
        """
        model: claude-haiku-4-5
        mcp_servers:
          files:
            command: uvx
            agrs: [mcp-server-filesystem]
          both:
            command: uvx
            url: https://example.com/mcp
          neither:
            prefix: x
          web:
            url: https://example.com/mcp
            env: {A: b}
        """,
    )
    assert problems("a.yaml") == [
        "a.yaml:5:5: mcp_servers.files.agrs: unknown field 'agrs'; did you mean 'args'?",
        "a.yaml:7:5: mcp_servers.both: give `command` (a stdio server) or `url` (an HTTP server), exactly one",
        "a.yaml:10:5: mcp_servers.neither: give `command` (a stdio server) or `url` (an HTTP server), exactly one",
        "a.yaml:12:5: mcp_servers.web: env apply to stdio servers (`command`); an HTTP server takes headers",
    ]


def test_an_agent_from_a_spec_has_its_servers_among_its_toolsets(files: Files) -> None:
    files.write("a.yaml", "model: claude-haiku-4-5\nmcp_servers:\n  web: {url: 'https://example.com/mcp'}\n")
    loaded = load_spec("a.yaml")

    assert loaded.agent().toolsets == loaded.mcp_servers
