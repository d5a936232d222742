"""A YAML spec gives the very same Agent the Python API builds: same settings, same requests."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from pydantic import BaseModel

from agentkit import Agent, load_agent
from agentkit.spec import load_spec, spec_json_schema
from agentkit.testing import MessagesServer, Reply, tool_use

if TYPE_CHECKING:
    from conftest import Files  # the fixture's type (tests/conftest.py)

TOOLS = '''
def order_status(order_id: str) -> str:
    """Look up an order.

    Args:
        order_id: The order number.
    """
    return {"A-1": "shipped"}.get(order_id, "unknown")


class Helpers:
    @staticmethod
    def refund(order_id: str, amount: float) -> str:
        """Refund an order."""
        return f"refunded {amount} on {order_id}"
'''


def test_the_spec_and_the_python_api_send_the_same_requests(files: Files, messages_server: MessagesServer) -> None:
    files.write("shop_tools.py", TOOLS)
    files.write(
        "support.yaml",
        """
        name: support
        model: claude-sonnet-4-6
        max_tokens: 512
        max_turns: 3
        system: You help customers of {{ shop }}.
        vars: {shop: Acme}
        tools: [shop_tools:order_status, "shop_tools:Helpers.refund"]
        temperature: 0.2
        stop_sequences: ["END"]
        request_params: {metadata: {user_id: u-1}}
        """,
    )
    from_yaml = load_agent("support.yaml", client=messages_server.client())
    shop_tools = sys.modules[from_yaml.toolset["order_status"].function.__module__]  # the module the spec loaded

    from_python = Agent(
        name="support",
        model="claude-sonnet-4-6",
        max_tokens=512,
        max_turns=3,
        system="You help customers of {{ shop }}.",
        vars={"shop": "Acme"},
        tools=[shop_tools.order_status, shop_tools.Helpers.refund],
        temperature=0.2,
        stop_sequences=["END"],
        request_params={"metadata": {"user_id": "u-1"}},
        client=messages_server.client(),
    )
    for agent in (from_yaml, from_python):
        messages_server.script(Reply([tool_use("order_status", {"order_id": "A-1"})]), Reply.text("Shipped."))
        assert agent.run_sync("Where is A-1?").output == "Shipped."

    yaml_first, yaml_second, python_first, python_second = (r.body for r in messages_server.requests)
    assert yaml_first == python_first
    assert {k: v for k, v in yaml_second.items() if k != "messages"} == {
        k: v for k, v in python_second.items() if k != "messages"
    }
    assert yaml_first["system"] == "You help customers of Acme."
    assert [t["name"] for t in yaml_first["tools"]] == ["order_status", "refund"]


def test_system_file_and_tools_resolve_against_the_file_that_names_them(files: Files) -> None:
    files.write("shared/prompts/base.j2", "You work at {{ shop }}.\n{% include 'rules.j2' %}")
    files.write("shared/prompts/rules.j2", "Be brief.")
    files.write("shared/base_tools.py", TOOLS)
    files.write(
        "shared/base.yaml",
        """
        model: claude-haiku-4-5
        system_file: prompts/base.j2
        tools: [base_tools:order_status]
        vars: {shop: Acme, tone: {style: warm, length: short}}
        request_params: {metadata: {user_id: base}}
        max_tokens: 100
        """,
    )
    files.write(
        "agents/support.yaml",
        """
        extends: ../shared/base.yaml
        vars: {tone: {length: long}}
        max_tokens: 200
        """,
    )
    agent = load_agent("agents/support.yaml")

    assert agent.name == "support"  # the file's name, not the base's
    assert agent.max_tokens == 200
    assert agent.vars == {"shop": "Acme", "tone": {"style": "warm", "length": "long"}}  # merged deeply
    assert agent.request_params == {"metadata": {"user_id": "base"}}
    assert list(agent.toolset) == ["order_status"]
    assert agent.system_prompt is not None
    assert agent.system_prompt.render(agent.vars) == "You work at Acme.\nBe brief."


def test_an_extending_spec_replaces_the_base_prompt_and_lists(files: Files) -> None:
    files.write("base_tools.py", TOOLS)
    files.write(
        "base.yaml", "model: m\nsystem_file: missing-is-fine-once-replaced.j2\ntools: [base_tools:order_status]\n"
    )
    files.write("child.yaml", "extends: base.yaml\nsystem: Hello.\ntools: []\n")

    agent = load_agent("child.yaml")

    assert agent.system_prompt is not None
    assert agent.system_prompt.source == "Hello."
    assert agent.toolset == {}


def test_keywords_override_the_spec_and_merge_into_its_vars(files: Files, messages_server: MessagesServer) -> None:
    files.write("a.yaml", "model: claude-haiku-4-5\nsystem: '{{ a }} {{ b }}'\nvars: {a: 1, b: 2}\n")

    agent = load_agent("a.yaml", model="claude-sonnet-4-6", vars={"b": 3}, client=messages_server.client())

    assert agent.model == "claude-sonnet-4-6"
    assert agent.vars == {"a": 1, "b": 3}
    assert agent.client is not None


class Ticket(BaseModel):
    order_id: str
    urgent: bool


def test_output_from_an_import_path_is_a_typed_output(files: Files, messages_server: MessagesServer) -> None:
    files.write("models.py", "from pydantic import BaseModel\n\nclass Ticket(BaseModel):\n    order_id: str\n")
    files.write("extract.yaml", "model: claude-haiku-4-5\noutput: models:Ticket\noutput_mode: tool\n")
    messages_server.script(Reply([tool_use("final_result", {"order_id": "A-1"})]))

    result = load_agent("extract.yaml", client=messages_server.client()).run_sync("A-1 is late")

    assert type(result.output).__name__ == "Ticket"
    assert result.output.order_id == "A-1"


def test_an_inline_output_schema_is_validated_and_retried(files: Files, messages_server: MessagesServer) -> None:
    files.write(
        "triage.yaml",
        """
        model: claude-haiku-4-5
        output:
          description: A triaged support email.
          type: object
          properties:
            order_id: {type: string, pattern: '^[A-Z]-\\d+$', description: The order number}
            priority: {enum: [low, normal, urgent]}
            tags: {type: array, items: {type: string}}
          required: [order_id, priority]
        """,
    )
    messages_server.script(
        Reply([tool_use("final_result", {"order_id": "A1", "priority": "urgent"})]),
        Reply([tool_use("final_result", {"order_id": "A-1", "priority": "urgent"})]),
    )
    agent = load_agent("triage.yaml", client=messages_server.client())

    result = agent.run_sync("My order A-1 leaks!")

    assert result.output.model_dump() == {"order_id": "A-1", "priority": "urgent", "tags": None}
    sent = messages_server.requests[0].body["tools"][0]
    assert sent["description"].endswith("A triaged support email.")
    assert sent["input_schema"]["properties"]["priority"]["enum"] == ["low", "normal", "urgent"]
    retry = messages_server.requests[1].tool_results[0]
    assert "order_id: String should match pattern" in retry["content"]


def test_memory_and_cache_map_to_agent_keywords(files: Files) -> None:
    files.write("m.yaml", "model: m\nmemory: {budget: 20000, strategy: drop_oldest, keep_first: true}\ncache: off\n")
    files.write("c.yaml", "model: m\ncache: auto\ncache_ttl: 1h\n")

    memory = {"memory_budget": 20000, "memory": "drop_oldest", "keep_first": True, "cache": "off"}
    assert load_spec("m.yaml").agent_kwargs().items() >= memory.items()  # `off` is YAML 1.1's false: read as "off"
    assert load_spec("c.yaml").agent_kwargs().items() >= {"cache": "auto", "cache_ttl": "1h"}.items()
    agent = load_agent("m.yaml")
    assert (agent.memory_budget, agent.memory, agent.keep_first, agent.cache) == (20000, "drop_oldest", True, "off")
    assert load_agent("c.yaml").cache_ttl == "1h"


def test_the_json_schema_describes_every_field_and_forbids_others() -> None:
    schema = spec_json_schema()

    assert schema["additionalProperties"] is False
    assert {"extends", "model", "system", "tools", "output", "memory", "cache", "vars"} <= set(schema["properties"])
    assert schema["$defs"]["MemorySpec"]["additionalProperties"] is False
    assert schema["properties"]["cache"]["anyOf"][0] == {"enum": ["auto", "off"], "type": "string"}
