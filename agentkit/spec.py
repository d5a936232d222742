"""YAML agent specs: `load_agent("agents/support.yaml")` gives the same `Agent` the Python API builds.

```yaml
extends: base.yaml            # another spec, relative to this file; this file's settings win
name: support
model: claude-sonnet-4-6
system: You help customers of {{ shop }}.
vars: {shop: Acme}
tools: [tools:order_status]   # package.module:function, searched from this file's folder first
```

Loading is strict, because a typo in a config file should fail on load, not change behaviour:
unknown keys are errors, YAML is read with the safe loader, and every problem is reported as
`file:line:column: field: what is wrong` with the closest valid name when there is one.
"""

from __future__ import annotations

import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from ._spec.mcp import MCPServerSpec
from ._spec.source import Loc, Mark, Marks, located, read_chain, suggest
from .errors import ConfigurationError, SpecError

if TYPE_CHECKING:
    from .agent import Agent
    from .tools import Tool

__all__ = ["AgentSpec", "LoadedSpec", "MemorySpec", "load_agent", "load_spec", "spec_json_schema"]


def _output_shape(value: Any) -> Any:
    if value is None or isinstance(value, (str, dict)):
        return value
    raise ValueError("give an import path ('package.module:Model') or an inline JSON schema (a mapping)")


def _cache_switch(value: Any) -> Any:
    """YAML 1.1 reads `cache: off` as false: take the booleans for what the user wrote."""
    return {False: "off", True: "auto"}.get(value, value) if isinstance(value, bool) else value


class MemorySpec(BaseModel):
    """How the history is kept under a token budget (`Agent(memory_budget=, memory=, keep_first=)`)."""

    model_config = ConfigDict(extra="forbid")

    budget: int | None = Field(None, gt=0, description="Token budget for the history sent with each request.")
    strategy: str | None = Field(None, description="How the history is kept under the budget.")
    keep_first: bool | None = Field(None, description="Always keep the conversation's first prompt.")


class AgentSpec(BaseModel):
    """An agent defined in YAML: the settings of `agentkit.Agent`, with tools and output as import paths."""

    model_config = ConfigDict(extra="forbid", title="agentkit agent spec")

    extends: str | None = Field(None, description="A base spec file, relative to this one; this one's settings win.")
    name: str | None = Field(None, description="The agent's name in errors and traces (default: the file's name).")
    description: str | None = Field(None, description="What the agent does; shown when it is used as a tool.")
    model: str | None = Field(None, description="The model id, for example claude-sonnet-4-6.")
    max_tokens: int | None = Field(None, ge=1, description="The cap on each response (default 4096).")
    max_turns: int | None = Field(None, ge=1, description="Model calls per run before the run stops (default 10).")
    system: str | None = Field(None, description="The system prompt, a Jinja template filled from vars.")
    system_file: str | None = Field(
        None, description="A Jinja template file for the system prompt (relative to this file)."
    )
    vars: dict[str, Any] = Field(default_factory=dict, description="Default values of the template's variables.")
    tools: list[str] = Field(default_factory=list, description="Tools as import paths, 'package.module:function'.")
    output: Annotated[str | dict[str, Any] | None, BeforeValidator(_output_shape)] = Field(
        None, description="Typed output: 'package.module:Model', or an inline JSON schema of an object."
    )
    output_mode: Literal["tool", "native"] | None = Field(None, description="How typed output is asked for.")
    output_retries: int | None = Field(None, ge=0, description="Retries when the output does not validate.")
    memory: MemorySpec | None = None
    cache: Annotated[Literal["auto", "off"] | None, BeforeValidator(_cache_switch)] = Field(
        None, description="Prompt caching: automatic breakpoints, or none."
    )
    cache_ttl: Literal["5m", "1h"] | None = Field(None, description="How long cache entries live.")
    thinking: dict[str, Any] | None = Field(None, description="Extended thinking, e.g. {type: adaptive}.")
    temperature: float | None = Field(None, ge=0, le=1)
    top_p: float | None = Field(None, ge=0, le=1)
    stop_sequences: list[str] | None = None
    max_continuations: int | None = Field(None, ge=0, description="Continuations past max_tokens per answer.")
    request_params: dict[str, Any] = Field(
        default_factory=dict, description="Any other Messages API field, sent as is."
    )
    pacing: bool | None = Field(None, description="Pace requests from the API's rate-limit headers (default on).")
    mcp_servers: dict[str, MCPServerSpec] = Field(
        default_factory=dict, description="MCP servers whose tools the agent uses, by name (needs agentkit[mcp])."
    )


# Spec fields that are `AgentSettings` fields of the same name and shape, passed through as they are;
# the others are resolved first (tools and output from import paths, memory from its mapping).
_RESOLVED = {"extends", "tools", "output", "memory", "system", "system_file", "mcp_servers"}
_AGENT_FIELDS = tuple(name for name in AgentSpec.model_fields if name not in _RESOLVED)
SPEC_ONLY = frozenset({"extends", "output", "memory", "mcp_servers"})
"""Spec fields that are not settings: `output` is `output_type`, `memory` groups the memory settings,
`mcp_servers` become toolsets among the `tools`."""


@dataclass
class LoadedSpec:
    """A validated spec with its imports resolved: ready to become an `Agent` any number of times."""

    path: Path
    spec: AgentSpec
    marks: Marks
    tools: list[Tool] = field(default_factory=list)
    output_type: Any = None
    mcp_servers: list[Any] = field(default_factory=list)  # agentkit.mcp.MCPServer, from `mcp_servers:`

    @property
    def system_file(self) -> Path | None:
        """The template file, resolved against the spec file that named it."""
        if self.spec.system_file is None:
            return None
        return self.marks.at(("system_file",)).path.parent / self.spec.system_file

    def agent_kwargs(self) -> dict[str, Any]:
        """The `Agent(...)` keywords this spec stands for (unset settings are left to `Agent`)."""
        spec = self.spec
        kwargs: dict[str, Any] = {k: getattr(spec, k) for k in _AGENT_FIELDS if getattr(spec, k) is not None}
        kwargs["name"] = spec.name or self.path.stem
        kwargs["tools"] = [*self.tools, *self.mcp_servers]
        if spec.system is not None:
            kwargs["system"] = spec.system
        elif self.system_file is not None:
            kwargs["system_file"] = self.system_file
        if self.output_type is not None:
            kwargs["output_type"] = self.output_type
        if spec.memory is not None:
            memory = spec.memory
            named = {"memory_budget": memory.budget, "memory": memory.strategy, "keep_first": memory.keep_first}
            kwargs.update({k: v for k, v in named.items() if v is not None})
        return kwargs

    def agent(self, **overrides: Any) -> Agent:
        """An `Agent` from this spec; `overrides` win, their `vars`/`request_params` merged into the spec's."""
        from .agent import Agent
        from .settings import SETTING_NAMES

        kwargs = self.agent_kwargs()
        for key in kwargs:
            if key not in SETTING_NAMES:  # a setting this version's Agent does not have yet
                message = f"this version of agentkit's Agent does not take {key}="
                raise SpecError([self.marks.problem((_SPEC_KEY.get(key, key),), message)])
        for merged in ("vars", "request_params"):
            if overrides.get(merged) is not None:
                overrides[merged] = {**kwargs.get(merged, {}), **overrides[merged]}
        kwargs.update(overrides)
        try:
            return Agent(**kwargs)
        except SpecError:
            raise
        except ConfigurationError as exc:
            raise SpecError([f"{self.marks.root.file}: {exc}"]) from None

    def check_template(self, variables: dict[str, Any]) -> list[str]:
        """Problems rendering the system prompt with `variables`: undefined names, failing expressions."""
        from ._spec.template import check_template

        return check_template(self, variables)


_SPEC_KEY = {"memory_budget": "memory", "keep_first": "memory"}  # Agent keyword -> spec field


def load_spec(path: str | Path) -> LoadedSpec:
    """Read, merge (`extends`), validate and resolve a spec file; `SpecError` lists every problem."""
    from ._spec.resolve import resolve

    data, marks = read_chain(Path(path), str(path))
    try:
        spec = AgentSpec.model_validate(data)
    except ValidationError as exc:
        raise SpecError(_explain(exc, marks)) from None
    loaded = LoadedSpec(Path(path), spec, marks)
    problems = resolve(loaded)
    if problems:
        raise SpecError(problems)
    return loaded


def load_agent(path: str | Path, **overrides: Any) -> Agent:
    """The `Agent` a YAML spec file defines. Keywords are `Agent`'s and override the spec's settings
    (`client=` for one; `vars` and `request_params` are merged into the spec's). Raises `SpecError`
    naming `file:line:column` for anything wrong in the spec."""
    return load_spec(path).agent(**overrides)


def spec_json_schema() -> dict[str, Any]:
    """The JSON Schema of a spec file, for editors (`# yaml-language-server: $schema=...`)."""
    schema = AgentSpec.model_json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}


def _explain(exc: ValidationError, marks: Marks) -> list[str]:
    """pydantic's errors as error lines, in the order they appear in the files."""
    problems: list[tuple[Mark, str]] = []
    for err in exc.errors(include_url=False):
        loc: Loc = tuple(err["loc"])
        unknown = err["type"] == "extra_forbidden"
        if unknown:
            choices = _fields_at(loc[:-1])
            message = f"unknown field '{loc[-1]}'" + (
                suggest(str(loc[-1]), choices) or f"; the fields are: {', '.join(choices)}"
            )
        else:
            message = err["msg"].removeprefix("Value error, ")
            if not err["type"].startswith("value_error") and isinstance(err.get("input"), (str, int, float, bool)):
                message += f" (got {err['input']!r})"
            message = message[:1].lower() + message[1:]
        mark = marks.at(loc, key=unknown)
        problems.append((mark, located(mark, loc, message)))
    return [line for _, line in sorted(problems, key=lambda p: (p[0].file, p[0].line, p[0].column))]


def _fields_at(loc: Loc) -> list[str]:
    """The field names of the model at `loc`, for "did you mean"; a mapping's key (the name of an
    `mcp_servers` entry) steps into the mapping's value type."""
    model: Any = AgentSpec
    parts = list(loc)
    while parts:
        part = parts.pop(0)
        if model is None or part not in model.model_fields:
            return []
        annotation = model.model_fields[part].annotation
        if typing.get_origin(annotation) is dict and parts:
            parts.pop(0)
            annotation = typing.get_args(annotation)[1]
        candidates = typing.get_args(annotation) or (annotation,)
        model = next((a for a in candidates if isinstance(a, type) and issubclass(a, BaseModel)), None)
    if model is None:
        return []
    return [name for name in model.model_fields if name != "extends" or not loc]
