"""`mcp_servers:` in a spec: each entry validated, its `${VAR}`s filled from the environment, and
made an `agentkit.mcp.MCPServer` (which needs the `mcp` extra only when a spec has servers).

```yaml
mcp_servers:
  files:                              # the server's name, in errors and logs
    command: uvx                      # stdio: a command, its args, env and cwd
    args: [mcp-server-filesystem, ./docs]
    env: {TOKEN: "${FILES_TOKEN}"}    # ${VAR} from the environment; a missing one is an error
    tools: [read_file]                # expose only these (default: all)
  search:
    url: https://search.example.com/mcp    # streamable HTTP: a URL and headers
    headers: {Authorization: "Bearer ${SEARCH_TOKEN}"}
    prefix: search                    # tools become search_<name>
```

A relative `cwd` is resolved against the spec file's folder, which is also the default working
directory of a stdio server, so `args: [tools/server.py]` works wherever `agentkit run` is started.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

if TYPE_CHECKING:
    from ..spec import LoadedSpec
    from .source import Loc

_REFERENCE = re.compile(r"\$\{([^}]*)\}")
_VARIABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class MCPServerSpec(BaseModel):
    """One MCP server: `command` (stdio) or `url` (streamable HTTP)."""

    model_config = ConfigDict(extra="forbid")

    command: str | None = Field(None, description="stdio: the executable that runs the server, e.g. uvx.")
    args: list[str] | None = Field(None, description="stdio: the command's arguments.")
    env: dict[str, str] | None = Field(None, description="stdio: environment variables; values may use ${VAR}.")
    cwd: str | None = Field(None, description="stdio: the working directory (default: this file's folder).")
    url: str | None = Field(None, description="HTTP: the server's MCP endpoint.")
    headers: dict[str, str] | None = Field(None, description="HTTP: request headers; values may use ${VAR}.")
    prefix: str | None = Field(None, min_length=1, description="Tool names become prefix_name.")
    tools: list[str] | None = Field(None, description="Expose only these of the server's tools.")
    timeout: float | None = Field(None, gt=0, description="Seconds per call (default 60).")
    startup_timeout: float | None = Field(None, gt=0, description="Seconds to start and connect (default 30).")
    requires_approval: bool | list[str] = Field(
        False, description="Ask approval before calls: true for every tool, or a list of tool names."
    )

    @model_validator(mode="after")
    def _one_transport(self) -> MCPServerSpec:
        if (self.command is None) == (self.url is None):
            raise ValueError("give `command` (a stdio server) or `url` (an HTTP server), exactly one")
        stdio_only = [k for k in ("args", "env", "cwd") if getattr(self, k) is not None]
        if self.url is not None and stdio_only:
            raise ValueError(
                f"{', '.join(stdio_only)} apply to stdio servers (`command`); an HTTP server takes headers"
            )
        if self.command is not None and self.headers is not None:
            raise ValueError("headers apply to HTTP servers (`url`); a stdio server takes env")
        return self


def mcp_servers(loaded: LoadedSpec) -> list[str]:
    """Fill `loaded.mcp_servers`; the problems found, as error lines."""
    entries = loaded.spec.mcp_servers
    if not entries:
        return []
    marks = loaded.marks
    try:
        from ..mcp import MCPServer
    except ImportError:
        return [marks.problem(("mcp_servers",), "MCP servers need the `mcp` package: pip install 'agentkit[mcp]'")]
    from ..errors import ToolDefinitionError

    problems: list[str] = []
    for name, entry in entries.items():
        loc: Loc = ("mcp_servers", name)
        env = _expand(entry.env, (*loc, "env"), loaded, problems)
        headers = _expand(entry.headers, (*loc, "headers"), loaded, problems)
        options: dict[str, Any] = {"name": name, "prefix": entry.prefix, "filter": entry.tools}
        options.update({k: getattr(entry, k) for k in ("timeout", "startup_timeout") if getattr(entry, k) is not None})
        approval = entry.requires_approval
        if isinstance(approval, list):
            needs = frozenset(approval)
            options["requires_approval"] = lambda tool, _args, needs=needs: tool in needs
        else:
            options["requires_approval"] = approval
        try:
            if entry.command is not None:
                folder = marks.at(loc).path.parent.resolve()
                cwd = folder / entry.cwd if entry.cwd is not None else folder
                server = MCPServer.stdio(entry.command, entry.args or [], env=env, cwd=cwd, **options)
            else:
                assert entry.url is not None
                server = MCPServer.http(entry.url, headers=headers, **options)
        except ToolDefinitionError as exc:
            problems.append(marks.problem(loc, str(exc)))
            continue
        loaded.mcp_servers.append(server)
    return problems


def _expand(values: Mapping[str, str] | None, loc: Loc, loaded: LoadedSpec, problems: list[str]) -> dict[str, str]:
    """`${VAR}` in each value replaced from the environment; a missing or malformed one is a problem."""
    out: dict[str, str] = {}
    for key, value in (values or {}).items():

        def fill(match: re.Match[str], key: str = key) -> str:
            variable = match.group(1)
            if not _VARIABLE.match(variable):
                problems.append(
                    loaded.marks.problem(
                        (*loc, key), f"'{match.group(0)}' is not a variable reference; write ${{NAME}}"
                    )
                )
                return ""
            if variable not in os.environ:
                fix = f"set it (export {variable}=...) or remove the reference"
                problems.append(loaded.marks.problem((*loc, key), f"environment variable {variable} is not set; {fix}"))
                return ""
            return os.environ[variable]

        out[key] = _REFERENCE.sub(fill, value)
    return out
