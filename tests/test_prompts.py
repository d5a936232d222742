"""System prompt templates: an error inside an included template names the included file's line (issue 13 Q)."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentkit import Agent, PromptError
from agentkit.prompts import SystemPrompt
from agentkit.testing import MessagesServer

pytestmark = pytest.mark.anyio


@pytest.fixture
def prompts(tmp_path: Path) -> Path:
    (tmp_path / "system.j2").write_text("You are the desk of {{ shop }}.\n\n{% include 'rules.j2' %}\nBe brief.\n")
    (tmp_path / "rules.j2").write_text("Rules:\n- be kind\n- answer in {{ language }}\n{% include 'legal.j2' %}\n")
    (tmp_path / "legal.j2").write_text("Legal:\n{{ 1 / divisor }}\n")
    return tmp_path


def test_an_undefined_variable_in_an_included_template_is_reported_at_its_own_line(prompts: Path) -> None:
    prompt = SystemPrompt.from_file(prompts / "system.j2")
    with pytest.raises(PromptError) as caught:
        prompt.render({"shop": "Acme"})
    assert str(caught.value) == (
        f"{prompts / 'rules.j2'}:3 (included from {prompts / 'system.j2'}:3): 'language' is undefined; "
        "pass it in vars= (have: ['shop'])"
    )


def test_an_error_two_includes_deep_names_every_file_on_the_way(prompts: Path) -> None:
    prompt = SystemPrompt.from_file(prompts / "system.j2")
    with pytest.raises(PromptError) as caught:
        prompt.render({"shop": "Acme", "language": "French", "divisor": 0})
    assert str(caught.value) == (
        f"{prompts / 'legal.j2'}:2 (included from {prompts / 'rules.j2'}:4) "
        f"(included from {prompts / 'system.j2'}:3): division by zero"
    )


def test_an_error_in_the_top_template_keeps_its_own_line(prompts: Path) -> None:
    with pytest.raises(PromptError, match=r"system\.j2:1: 'shop' is undefined"):
        SystemPrompt.from_file(prompts / "system.j2").render({})
    with pytest.raises(PromptError, match=r"^<system>:2: 'name' is undefined; pass it in vars= \(have: none\)$"):
        SystemPrompt("Hello.\n{{ name }}").render({})


def test_a_whole_prompt_renders(prompts: Path) -> None:
    text = SystemPrompt.from_file(prompts / "system.j2").render({"shop": "Acme", "language": "French", "divisor": 4})
    assert text == "You are the desk of Acme.\n\nRules:\n- be kind\n- answer in French\nLegal:\n0.25\nBe brief."


async def test_an_agent_reports_it_before_sending_anything(prompts: Path, messages_server: MessagesServer) -> None:
    agent = Agent(model="claude-sonnet-4-6", system_file=prompts / "system.j2", client=messages_server.client())
    with pytest.raises(PromptError, match=r"rules\.j2:3 \(included from .*system\.j2:3\): 'language' is undefined"):
        await agent.run("hi", vars={"shop": "Acme"})
    assert messages_server.requests == []
