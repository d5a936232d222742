"""Agents defined as subclasses or with keywords are the same object; mistakes fail before any request."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentkit import Agent, ConfigurationError, PromptError, ToolDefinitionError, tool
from agentkit.testing import MessagesServer, Reply, tool_use

pytestmark = pytest.mark.anyio


class Shop(Agent):
    model = "claude-sonnet-4-6"
    system = "You help customers of {{ shop }}."
    vars = {"shop": "Acme"}  # noqa: RUF012
    max_turns = 4

    def __init__(self, stock: dict[str, int], **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.stock = stock

    @tool
    def in_stock(self, item: str) -> int:
        """How many of an item are in stock.

        Args:
            item: The item's name.
        """
        return self.stock.get(item, 0)


class ShopWithReturns(Shop):
    max_turns = 6

    @tool
    def start_return(self, order_id: str) -> str:
        """Start a return for an order."""
        return f"return opened for {order_id}"


def test_class_attributes_are_defaults_and_keywords_override_them() -> None:
    shop = Shop({}, max_turns=2, name="front-desk")
    assert (shop.model, shop.max_turns, shop.name, shop.max_tokens) == (
        "claude-sonnet-4-6",
        2,
        "front-desk",
        4096,
    )
    assert Shop({}).name == "Shop"
    assert Agent(model="m").name == "agent"


def test_subclasses_inherit_settings_and_add_tools() -> None:
    agent = ShopWithReturns({})
    assert agent.max_turns == 6
    assert agent.system_prompt is not None
    assert list(agent.toolset) == ["in_stock", "start_return"]
    assert list(Shop({}).toolset) == ["in_stock"]


async def test_method_tools_receive_self(messages_server: MessagesServer) -> None:
    messages_server.script(Reply(content=[tool_use("in_stock", {"item": "kettle"})]), Reply.text("3 left"))
    agent = Shop({"kettle": 3}, client=messages_server.client())

    result = await agent.run("kettles?")

    assert result.output == "3 left"
    first, second = messages_server.requests
    assert first.system == "You help customers of Acme."
    assert first.body["tools"][0]["input_schema"]["properties"] == {
        "item": {"type": "string", "description": "The item's name."}
    }
    assert second.tool_results[0]["content"] == "3"


async def test_run_vars_override_the_agents_defaults(messages_server: MessagesServer) -> None:
    messages_server.script(Reply.text("hi"))
    await Shop({}, client=messages_server.client()).run("hi", vars={"shop": "Globex"})
    assert messages_server.requests[0].system == "You help customers of Globex."


async def test_an_undefined_template_variable_fails_before_any_request(
    messages_server: MessagesServer,
) -> None:
    agent = Agent(model="claude-sonnet-4-6", system="Hello {{ user }}", client=messages_server.client())

    with pytest.raises(PromptError, match=r"<system>:1: 'user' is undefined; pass it in vars="):
        await agent.run("hi")

    assert messages_server.requests == []


async def test_system_file_includes_resolve_relative_to_the_file(
    messages_server: MessagesServer, tmp_path: Path
) -> None:
    (tmp_path / "rules.j2").write_text("Never promise refunds to {{ user }}.")
    (tmp_path / "system.j2").write_text("You are a support agent.\n{% include 'rules.j2' %}")
    messages_server.script(Reply.text("ok"))
    agent = Agent(model="claude-sonnet-4-6", system_file=tmp_path / "system.j2", client=messages_server.client())

    await agent.run("hi", vars={"user": "Bob"})

    assert messages_server.requests[0].system == "You are a support agent.\nNever promise refunds to Bob."


def test_the_template_sandbox_blocks_attribute_escapes() -> None:
    agent = Agent(model="m", system="{{ ''.__class__.__mro__ }}")
    with pytest.raises(PromptError):
        agent.system_prompt.render({})  # type: ignore[union-attr]


def test_template_syntax_errors_name_the_line_at_construction() -> None:
    with pytest.raises(PromptError, match=r"<system>:2: "):
        Agent(model="m", system="line one\n{% if %}")


def test_a_missing_model_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="has no model; pass model="):
        Agent()


def test_two_tools_with_one_name_are_rejected() -> None:
    def lookup(q: str) -> str:
        """A."""
        return q

    with pytest.raises(ToolDefinitionError, match="two tools named 'lookup'"):
        Agent(model="m", tools=[lookup, tool(lookup)])


def test_repr_names_the_agent_without_secrets() -> None:
    import anthropic

    client = anthropic.AsyncAnthropic(api_key="sk-ant-secret-123")
    assert repr(Agent(model="m", client=client)) == "Agent(name='agent', model='m', tools=[])"
