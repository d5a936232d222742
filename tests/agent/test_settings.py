"""Settings declared once: class attributes and keywords fill one `AgentSettings`, the YAML spec,
the constructor's keywords and the docs' table name the same fields."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from agentkit import Agent, AgentSettings, ConfigurationError
from agentkit.settings import SETTING_NAMES, AgentOptions
from agentkit.spec import SPEC_ONLY, AgentSpec

DOCS = Path(__file__).parents[2] / "docs"


class Tuned(Agent):
    model = "claude-sonnet-4-6"
    thinking = {"type": "adaptive"}  # noqa: RUF012 - a class default, as users write it
    temperature = 0.2
    memory_budget = 100_000
    vars = {"shop": "Acme", "tone": "warm"}  # noqa: RUF012


def test_an_explicit_none_overrides_a_class_default() -> None:
    plain = Tuned()
    unset = Tuned(thinking=None, temperature=None, memory_budget=None)

    assert (plain.thinking, plain.temperature, plain.memory_budget) == ({"type": "adaptive"}, 0.2, 100_000)
    assert (unset.thinking, unset.temperature, unset.memory_budget) == (None, None, None)


def test_keywords_win_over_class_attributes_and_vars_merge() -> None:
    agent = Tuned(temperature=0.7, vars={"tone": "dry"})

    assert agent.settings.temperature == 0.7
    assert agent.settings.vars == {"shop": "Acme", "tone": "dry"}
    assert isinstance(agent.settings, AgentSettings)
    with pytest.raises(dataclasses.FrozenInstanceError):
        agent.settings.model = "other"  # type: ignore[misc]


@pytest.mark.anyio
async def test_temperature_with_thinking_is_refused_before_any_request() -> None:
    from agentkit.testing import MessagesServer

    with MessagesServer() as server:
        agent = Tuned(client=server.client())  # adaptive thinking with temperature 0.2: the API refuses it
        with pytest.raises(ConfigurationError, match="temperature"):
            await agent.run("hi")
        assert server.requests == []


def test_settings_the_api_refuses_fail_when_the_agent_is_built() -> None:
    with pytest.raises(ConfigurationError, match="budget_tokens: 5 is below"):
        Agent(model="m", thinking={"type": "enabled", "budget_tokens": 5})
    with pytest.raises(ConfigurationError, match=r"max_tokens: .* more than any model"):
        Agent(model="m", max_tokens=10**22)
    with pytest.raises(ConfigurationError, match=r"stop_sequences\.0: is whitespace only"):
        Agent(model="m", stop_sequences=["  "])


def test_an_unknown_setting_names_the_settings() -> None:
    with pytest.raises(ConfigurationError, match=r"unknown setting.*max_token\b.*the settings are: .*max_tokens"):
        Agent(model="m", max_token=5)  # type: ignore[call-arg]


@pytest.mark.parametrize("field", ["model", "system", "tools", "messages"])
def test_request_params_may_not_override_the_runs_own_fields(field: str) -> None:
    with pytest.raises(ConfigurationError, match=f"request_params.{field}: would silently replace .* use .* instead"):
        Agent(model="m", request_params={field: "x"})


def test_the_constructor_keywords_are_the_settings() -> None:
    assert set(AgentOptions.__annotations__) | {"output_type"} == SETTING_NAMES
    declared = {f.name: f.type for f in dataclasses.fields(AgentSettings)}
    for name, hint in AgentOptions.__annotations__.items():
        assert getattr(hint, "__forward_arg__", hint) == declared[name], name  # the same type, spelled the same


# Settings only Python can give: objects, callables, or the memory settings the spec groups under `memory:`.
PYTHON_ONLY = {"client", "session_store", "telemetry", "usage_limits", "approval", "pinned", "capture_content"}
GROUPED = {"output_type": "output", "memory_budget": "memory", "memory": "memory", "keep_first": "memory"}


def test_the_yaml_spec_takes_every_setting_that_yaml_can_say() -> None:
    spec_fields = set(AgentSpec.model_fields)
    assert spec_fields - SPEC_ONLY <= SETTING_NAMES
    expected = SETTING_NAMES - PYTHON_ONLY - set(GROUPED)
    assert expected <= spec_fields, f"settings missing from the spec: {sorted(expected - spec_fields)}"
    assert set(GROUPED.values()) <= spec_fields


def test_the_docs_table_lists_every_setting() -> None:
    text = (DOCS / "agents.md").read_text(encoding="utf-8")
    table = text[text.index("| setting |") :].split("\n\n", 1)[0]
    named = {name for row in table.splitlines()[2:] for name in re.findall(r"`(\w+)`", row.split("|")[1])}
    assert named == SETTING_NAMES


def test_every_setting_has_a_docstring() -> None:
    import ast
    import inspect

    from agentkit import settings

    tree = ast.parse(inspect.getsource(settings))
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "AgentSettings")
    documented = set()
    for node, following in zip(cls.body, cls.body[1:], strict=False):
        if isinstance(node, ast.AnnAssign) and isinstance(following, ast.Expr):
            assert isinstance(node.target, ast.Name)
            documented.add(node.target.id)
    assert documented == SETTING_NAMES
