"""`agentkit validate`, `chat` and `schema`."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from agentkit.testing import MessagesServer, Reply

if TYPE_CHECKING:
    from conftest import Cli, Files  # the fixtures' types (each test folder has its conftest)

GOOD = "model: claude-haiku-4-5\nsystem: You help {{ shop }}.\nvars: {shop: Acme}\ntools: [shop_tools:lookup]\n"
TOOLS = 'def lookup(order_id: str) -> str:\n    """Look up an order."""\n    return "shipped"\n'


def test_validate_reports_each_spec_without_a_request(
    agentkit: Cli, files: Files, messages_server: MessagesServer
) -> None:
    files.write("shop_tools.py", TOOLS)
    files.write("agents/good.yaml", GOOD)
    files.write(
        "agents/typed.yaml", "model: claude-haiku-4-5\noutput: {type: object, properties: {a: {type: string}}}\n"
    )
    files.write("agents/bad.yaml", "model: claude-haiku-4-5\nsystem: |\n  Hi {{ user }}.\ntools: [shop_tools:lookp]\n")

    result = agentkit(
        "validate", "agents/good.yaml", "agents/bad.yaml", "agents/typed.yaml", env={"ANTHROPIC_API_KEY": None}
    )

    assert result.exit_code == 2
    assert result.stdout.splitlines() == [
        "agents/good.yaml: ok (agent 'good', model claude-haiku-4-5, tools: lookup)",
        "agents/typed.yaml: ok (agent 'typed', model claude-haiku-4-5, output: TypedOutput)",
    ]
    assert result.stderr.splitlines() == [
        "agents/bad.yaml:4:9: tools[0]: module 'shop_tools' has no function 'lookp'; did you mean 'lookup'?"
    ]
    assert messages_server.requests == []


def test_validate_checks_the_template_with_the_spec_vars(agentkit: Cli, files: Files) -> None:
    files.write("a.yaml", "model: claude-haiku-4-5\nsystem: |\n  Hi {{ user }}.\n")

    result = agentkit("validate", "a.yaml")

    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr.startswith("a.yaml:3:9: system: undefined variable 'user'; give it a default under `vars:`")
    assert agentkit("validate", "a.yaml", "a.yaml").stderr.count("undefined variable") == 2


def test_chat_keeps_the_conversation_until_exit(agentkit: Cli, files: Files, messages_server: MessagesServer) -> None:
    files.write("shop_tools.py", TOOLS)
    files.write("good.yaml", GOOD)
    messages_server.script(Reply.text("Hello!"), Reply.text("You said hi."))

    result = agentkit("chat", "good.yaml", input="hi\n\nwhat did I say?\n/exit\nnever sent\n")

    assert (result.exit_code, result.stdout, result.stderr) == (0, "Hello!\nYou said hi.\n", "")
    first, second = messages_server.requests
    assert [m["content"] for m in second.messages] == [
        "hi",
        [{"type": "text", "text": "Hello!"}],
        "what did I say?",
    ]
    assert first.body["system"] == second.body["system"] == "You help Acme."


def test_chat_goes_on_after_a_failed_turn_and_ends_at_eof(
    agentkit: Cli, files: Files, messages_server: MessagesServer
) -> None:
    from agentkit.testing import Fault

    files.write("shop_tools.py", TOOLS)
    files.write("good.yaml", GOOD)
    messages_server.script(Fault("status", "invalid_request_error"), Reply.text("Back."))

    result = agentkit("chat", "good.yaml", "--var", "shop=Kettles", input="first\nsecond")

    assert (result.exit_code, result.stdout) == (0, "Back.\n")
    assert result.stderr.startswith("Error: APIError 400 invalid_request_error: Invalid request (request_id req_")
    # the history a RunError carries is valid to send: the unanswered prompt stays in the conversation
    assert messages_server.requests[1].messages == [
        {"role": "user", "content": "first"},
        {"role": "user", "content": "second"},
    ]
    assert messages_server.requests[1].body["system"] == "You help Kettles."


def test_schema_prints_the_spec_json_schema(agentkit: Cli) -> None:
    result = agentkit("schema")

    schema = json.loads(result.stdout)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["title"] == "agentkit agent spec"
    assert schema["additionalProperties"] is False
    assert schema["properties"]["tools"]["items"] == {"type": "string"}
