"""`agentkit run`: the prompt from the argument or stdin, --var, --json, --stream, and the exit codes."""

from __future__ import annotations

import json
import re
import sys
from typing import TYPE_CHECKING

from agentkit.testing import Fault, MessagesServer, Reply, Request, text, tool_use

if TYPE_CHECKING:
    from conftest import Cli, Files  # the fixtures' types (each test folder has its conftest)

SUPPORT = """
name: support
model: claude-haiku-4-5
system: |
  You are the support desk of {{ shop }}.
  Be {{ tone }}.
vars: {shop: Acme, tone: brief}
tools: [shop_tools:order_status]
"""
TOOLS = '''
def order_status(order_id: str) -> str:
    """Look up an order."""
    return {"A-1": "shipped"}.get(order_id, "unknown")
'''


def support(files: Files) -> None:
    files.write("shop_tools.py", TOOLS)
    files.write("support.yaml", SUPPORT)


def test_run_answers_the_prompt_with_tools_and_exits_0(
    agentkit: Cli, files: Files, messages_server: MessagesServer
) -> None:
    support(files)
    messages_server.script(Reply([tool_use("order_status", {"order_id": "A-1"})]), Reply.text("It shipped."))

    result = agentkit("run", "support.yaml", "Where is A-1?")

    assert (result.exit_code, result.stdout, result.stderr) == (0, "It shipped.\n", "")
    first, second = messages_server.requests
    assert first.body["system"] == "You are the support desk of Acme.\nBe brief."
    assert first.last_user_text == "Where is A-1?"
    assert second.tool_results[0]["content"] == "shipped"


def test_the_prompt_comes_from_stdin_when_absent_or_dash(
    agentkit: Cli, files: Files, messages_server: MessagesServer
) -> None:
    support(files)
    messages_server.script(Reply.text("one"), Reply.text("two"))

    assert agentkit("run", "support.yaml", input="  from stdin\n").stdout == "one\n"
    assert agentkit("run", "support.yaml", "-", input="from a dash").stdout == "two\n"
    assert [r.last_user_text for r in messages_server.requests] == ["from stdin", "from a dash"]


def test_vars_fill_the_template_over_the_spec_defaults(
    agentkit: Cli, files: Files, messages_server: MessagesServer
) -> None:
    support(files)
    messages_server.script(Reply.text("ok"))

    result = agentkit("run", "support.yaml", "hi", "--var", "tone=warm", "--var", "shop=Kettles & Co=op")

    assert result.exit_code == 0
    assert messages_server.requests[0].body["system"] == "You are the support desk of Kettles & Co=op.\nBe warm."


def test_json_prints_the_run_result(agentkit: Cli, files: Files, messages_server: MessagesServer) -> None:
    support(files)
    messages_server.script(Reply([tool_use("order_status", {"order_id": "A-1"}, id="toolu_1")]), Reply.text("Done."))

    result = agentkit("run", "support.yaml", "A-1?", "--json")

    payload = json.loads(result.stdout)
    assert set(payload) == {"output", "messages", "usage", "stop_reason", "turns"}
    assert payload["output"] == "Done."
    assert (payload["stop_reason"], payload["turns"]) == ("end_turn", 2)
    assert payload["usage"]["requests"] == 2
    assert set(payload["usage"]) == {
        "input_tokens",
        "output_tokens",
        "cache_read_tokens",
        "cache_write_tokens",
        "requests",
    }
    assert [m["role"] for m in payload["messages"]] == ["user", "assistant", "user", "assistant"]
    assert payload["messages"][2]["content"][0] == {
        "type": "tool_result",
        "tool_use_id": "toolu_1",
        "content": "shipped",
    }


def test_json_dumps_a_typed_output_as_its_fields(agentkit: Cli, files: Files, messages_server: MessagesServer) -> None:
    files.write(
        "triage.yaml",
        """
        model: claude-haiku-4-5
        output:
          type: object
          properties:
            order-id: {type: string}
            urgent: {type: boolean}
          required: [order-id, urgent]
        """,
    )
    messages_server.script(
        Reply([tool_use("final_result", {"order-id": "A-1", "urgent": True})]),
        Reply([tool_use("final_result", {"order-id": "A-2", "urgent": False})]),
    )

    as_json = json.loads(agentkit("run", "triage.yaml", "A-1 leaks", "--json").stdout)
    plain = agentkit("run", "triage.yaml", "A-2 is fine").stdout

    assert as_json["output"] == {"order-id": "A-1", "urgent": True}
    assert json.loads(plain) == {"order-id": "A-2", "urgent": False}


def test_stream_prints_text_before_the_run_ends(agentkit: Cli, files: Files, messages_server: MessagesServer) -> None:
    support(files)
    seen_by_the_second_request: list[str] = []

    def model(request: Request) -> Reply:
        if not request.tool_results:
            return Reply([text("Let me check. "), tool_use("order_status", {"order_id": "A-1"})])
        sys.stdout.flush()
        seen_by_the_second_request.append(sys.stdout.buffer.getvalue().decode())  # type: ignore[attr-defined]
        return Reply.text("It shipped.")

    messages_server.respond_with(model)

    result = agentkit("run", "support.yaml", "A-1?", "--stream")

    assert result.stdout == "Let me check. It shipped.\n"
    assert seen_by_the_second_request == ["Let me check. "]  # printed while the run was still going
    assert all(r.stream for r in messages_server.requests)


def test_verbose_shows_tool_calls_and_usage_on_stderr(
    agentkit: Cli, files: Files, messages_server: MessagesServer
) -> None:
    support(files)
    messages_server.script(
        Reply([tool_use("order_status", {"order_id": "A-1"})]),
        Reply.text("It shipped."),
        Reply([tool_use("order_status", {"order_id": "A-1"})]),
        Reply.text("It shipped."),
    )

    verbose = agentkit("run", "support.yaml", "A-1?", "-v")
    quiet = agentkit("run", "support.yaml", "A-1?")  # stderr is not a terminal here: nothing shown

    assert verbose.stdout == quiet.stdout == "It shipped.\n"
    lines = verbose.stderr.splitlines()
    assert lines[:2] == ['-> order_status({"order_id": "A-1"})', "<- shipped"]
    assert lines[2].startswith("usage: 2 requests, ")
    assert quiet.stderr == ""


def test_a_failed_run_exits_1_with_the_error_on_stderr(
    agentkit: Cli, files: Files, messages_server: MessagesServer
) -> None:
    support(files)
    messages_server.script(Fault("status", "invalid_request_error"))
    files.write("short.yaml", "model: claude-haiku-4-5\nmax_turns: 1\ntools: [shop_tools:order_status]\n")

    api = agentkit("run", "support.yaml", "hi")
    messages_server.script(Reply([tool_use("order_status", {"order_id": "A-1"})]))
    turns = agentkit("run", "short.yaml", "hi")

    assert (api.exit_code, api.stdout) == (1, "")
    # One line: status, type, the API's message (not the SDK's dict repr) and the request id.
    one_line = r"Error: APIError 400 invalid_request_error: Invalid request \(request_id req_\w+\)\n"
    assert re.fullmatch(one_line, api.stderr)
    assert turns.exit_code == 1
    assert turns.stderr.startswith("Error: MaxTurnsExceeded: ")


def test_a_bad_spec_exits_2_naming_the_line(agentkit: Cli, files: Files, messages_server: MessagesServer) -> None:
    files.write("support.yaml", "model: claude-haiku-4-5\ntemprature: 0.5\n")

    result = agentkit("run", "support.yaml", "hi")

    assert result.exit_code == 2
    assert result.stderr == "support.yaml:2:1: temprature: unknown field 'temprature'; did you mean 'temperature'?\n"
    assert messages_server.requests == []


def test_a_template_variable_left_undefined_exits_2(
    agentkit: Cli, files: Files, messages_server: MessagesServer
) -> None:
    files.write("greet.yaml", "model: claude-haiku-4-5\nsystem: |\n  Greet {{ user }} warmly.\n")

    result = agentkit("run", "greet.yaml", "hi")

    assert result.exit_code == 2
    assert result.stderr == (
        "greet.yaml:3:12: system: undefined variable 'user'; "
        "give it a default under `vars:`, or pass --var user=... to `agentkit run`\n"
    )
    assert messages_server.requests == []


def test_usage_mistakes_exit_2(agentkit: Cli, files: Files, messages_server: MessagesServer) -> None:
    support(files)

    bad_var = agentkit("run", "support.yaml", "hi", "--var", "tone")
    no_prompt = agentkit("run", "support.yaml", input="")
    no_key = agentkit("run", "support.yaml", "hi", env={"ANTHROPIC_API_KEY": None})
    missing = agentkit("run", "absent.yaml", "hi")

    assert [r.exit_code for r in (bad_var, no_prompt, no_key, missing)] == [2, 2, 2, 2]
    assert "Invalid value for --var: 'tone' is not KEY=VALUE" in bad_var.stderr
    assert "the prompt read from stdin is empty" in no_prompt.stderr
    assert no_key.stderr.startswith("Error: set ANTHROPIC_API_KEY")
    assert missing.stderr == "absent.yaml: cannot read the spec: No such file or directory\n"
    assert messages_server.requests == []


def test_model_overrides_the_spec(agentkit: Cli, files: Files, messages_server: MessagesServer) -> None:
    support(files)
    messages_server.script(Reply.text("ok"))

    assert agentkit("run", "support.yaml", "hi", "--model", "claude-sonnet-4-6").exit_code == 0
    assert messages_server.requests[0].model == "claude-sonnet-4-6"
