"""`agentkit run` without a spec (-m, -s), with a Python agent (-a), tools from Python (--tool), --var
checked, JSON lines, cut answers, and one-line API errors with a "did you mean"."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from agentkit.testing import Fault, MessagesServer, Reply, Request, text, tool_use

if TYPE_CHECKING:
    from conftest import Cli, Files

TOOLS = '''
def get_weather(city: str) -> str:
    """The weather in a city.

    Args:
        city: The city's name.
    """
    return f"18C in {city}"
'''
AGENTS = """
from agentkit import Agent

class Desk(Agent):
    model = "claude-haiku-4-5"
    system = "You are the desk of {{ shop }}."
    vars = {"shop": "Acme"}

desk = Desk()
"""


def test_run_with_a_model_and_no_spec(agentkit: Cli, messages_server: MessagesServer) -> None:
    messages_server.script(Reply.text("4"), Reply.text("5"))

    quoted = agentkit("run", "-m", "claude-haiku-4-5", "-s", "Be terse.", "what is 2+2")
    words = agentkit("run", "-m", "claude-haiku-4-5", "what", "is", "2+3")

    assert (quoted.exit_code, quoted.stdout, quoted.stderr) == (0, "4\n", "")
    assert (words.exit_code, words.stdout) == (0, "5\n")
    first, second = messages_server.requests
    assert (first.model, first.system, first.last_user_text) == ("claude-haiku-4-5", "Be terse.", "what is 2+2")
    assert (second.system, second.last_user_text) == (None, "what is 2+3")


def test_tools_from_python_functions(agentkit: Cli, files: Files, messages_server: MessagesServer) -> None:
    files.write("weather_tools.py", TOOLS)
    messages_server.script(Reply([tool_use("get_weather", {"city": "Oslo"})]), Reply.text("Mild."))

    result = agentkit("run", "-m", "claude-haiku-4-5", "--tool", "weather_tools:get_weather", "Oslo?")
    typo = agentkit("run", "-m", "claude-haiku-4-5", "--tool", "weather_tools:get_wether", "Oslo?")

    assert (result.exit_code, result.stdout) == (0, "Mild.\n")
    first, second = messages_server.requests
    assert first.tools[0]["name"] == "get_weather"
    assert first.tools[0]["input_schema"]["properties"]["city"]["description"] == "The city's name."
    assert second.tool_results[0]["content"] == "18C in Oslo"
    assert typo.exit_code == 2
    assert "module 'weather_tools' has no function 'get_wether'; did you mean 'get_weather'?" in typo.stderr


def test_a_python_agent_instance_or_subclass(agentkit: Cli, files: Files, messages_server: MessagesServer) -> None:
    files.write("shop_agents.py", AGENTS)
    messages_server.script(Reply.text("one"), Reply.text("two"))

    instance = agentkit("run", "-a", "shop_agents:desk", "hi", "--var", "shop=Kettles")
    subclass = agentkit("run", "-a", "shop_agents:Desk", "-m", "claude-sonnet-4-6", "hi")
    adjusted = agentkit("run", "-a", "shop_agents:desk", "-m", "claude-sonnet-4-6", "hi")
    missing = agentkit("run", "-a", "shop_agents:dsk", "hi")

    assert (instance.exit_code, instance.stdout, subclass.exit_code, subclass.stdout) == (0, "one\n", 0, "two\n")
    first, second = messages_server.requests
    assert (first.model, first.system) == ("claude-haiku-4-5", "You are the desk of Kettles.")
    assert (second.model, second.system) == ("claude-sonnet-4-6", "You are the desk of Acme.")
    assert adjusted.exit_code == 2
    assert "is an Agent already built; -m, -s and --tool adjust an Agent subclass" in adjusted.stderr
    assert missing.exit_code == 2
    assert "module 'shop_agents' has no class 'dsk'; it has: Desk" in missing.stderr


def test_no_agent_named_is_a_usage_error(agentkit: Cli, messages_server: MessagesServer) -> None:
    result = agentkit("run", "what is 2+2")

    assert result.exit_code == 2
    assert "say which agent: a spec file" in result.stderr
    assert "(-m claude-haiku-4-5)" in result.stderr
    assert messages_server.requests == []


def test_a_var_the_template_does_not_use_is_an_error(
    agentkit: Cli, files: Files, messages_server: MessagesServer
) -> None:
    files.write("greet.yaml", "model: claude-haiku-4-5\nsystem: Greet {{ user }} from {{ shop }}.\nvars: {shop: A}\n")

    typo = agentkit("run", "greet.yaml", "hi", "--var", "usr=Ann")
    plain = agentkit("run", "-m", "claude-haiku-4-5", "hi", "--var", "x=1")

    assert typo.exit_code == 2
    assert "Invalid value for --var: greet.yaml does not use 'usr'; its variables are shop, user" in typo.stderr
    assert plain.exit_code == 2
    assert "the system prompt does not use 'x'; it uses no variables" in plain.stderr
    assert messages_server.requests == []


def test_json_with_stream_prints_json_lines_of_events(
    agentkit: Cli, files: Files, messages_server: MessagesServer
) -> None:
    files.write("weather_tools.py", TOOLS)
    messages_server.script(
        Reply([text("Checking. "), tool_use("get_weather", {"city": "Oslo"}, id="toolu_1")]), Reply.text("Mild.")
    )

    result = agentkit(
        "run", "-m", "claude-haiku-4-5", "--tool", "weather_tools:get_weather", "Oslo?", "--json", "--stream"
    )

    assert result.exit_code == 0, result.stdout
    events = [json.loads(line) for line in result.stdout.splitlines()]
    kinds = [e["type"] for e in events]
    assert kinds[-1] == "result"
    assert {"text_delta", "tool_call_ready", "tool_call_finished", "turn_finished"} <= set(kinds)
    assert "".join(e["text"] for e in events if e["type"] == "text_delta") == "Checking. Mild."
    ready = next(e for e in events if e["type"] == "tool_call_ready")
    assert ready == {"type": "tool_call_ready", "id": "toolu_1", "name": "get_weather", "input": {"city": "Oslo"}}
    assert events[-1]["output"] == "Mild."
    assert events[-1]["usage"]["requests"] == 2


def test_a_cut_answer_prints_its_text_on_its_own_line_then_the_error(
    agentkit: Cli, messages_server: MessagesServer
) -> None:
    for stream in ("--stream", "--no-stream"):

        def model(request: Request) -> Reply:
            return Reply([text("The answer is long and")], stop_reason="max_tokens")

        messages_server.respond_with(model)
        result = agentkit("run", "-m", "claude-haiku-4-5", "Tell me", stream)

        assert result.exit_code == 1, stream
        assert result.stdout.startswith("The answer is long and"), stream
        assert result.stdout.endswith("\n"), stream
        assert result.stderr.startswith("Error: MaxTokensReached: "), stream
        assert len(result.stderr.splitlines()) == 1, stream


def test_an_unknown_model_gets_a_did_you_mean(agentkit: Cli, messages_server: MessagesServer) -> None:
    messages_server.script(Fault("status", "not_found_error", detail="model: claude-haiku-4.5"))

    result = agentkit("run", "-m", "claude-haiku-4.5", "hi")

    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "Error: APIError 404 not_found_error: model: claude-haiku-4.5 "
        f"(request_id {result.stderr.split('request_id ')[1].split(')')[0]}); did you mean 'claude-haiku-4-5' "
        "or 'claude-opus-4-5' or 'claude-3-haiku-20240307'?"
    ]


def test_no_key_says_how_to_get_one(agentkit: Cli, messages_server: MessagesServer) -> None:
    result = agentkit("run", "-m", "claude-haiku-4-5", "hi", env={"ANTHROPIC_API_KEY": None})

    assert result.exit_code == 2
    assert result.stderr == (
        "Error: set ANTHROPIC_API_KEY (and ANTHROPIC_BASE_URL for another endpoint) to run an agent; "
        "`agentkit dev-server` starts an offline one and prints the lines to export\n"
    )


def test_trace_console_prints_the_runs_spans(messages_server: MessagesServer, tmp_path: Path) -> None:
    messages_server.script(Reply.text("hi"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "OTEL_"))}
    env.update(ANTHROPIC_BASE_URL=messages_server.url, ANTHROPIC_API_KEY="sk-ant-test")

    done = subprocess.run(
        [sys.executable, "-m", "agentkit", "run", "-m", "claude-haiku-4-5", "hello", "--trace", "console"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert (done.returncode, done.stdout) == (0, "hi\n")
    assert '"name": "invoke_agent agentkit"' in done.stderr
    assert '"name": "chat claude-haiku-4-5"' in done.stderr


def test_trace_to_otlp_without_the_exporter_says_what_to_install(agentkit: Cli) -> None:
    pytest.importorskip("opentelemetry.sdk")
    if importlib.util.find_spec("opentelemetry.exporter") is not None:
        pytest.skip("the OTLP exporter is installed here")

    result = agentkit("run", "-m", "claude-haiku-4-5", "hi", "--trace", "http://localhost:4318")
    bad = agentkit("run", "-m", "claude-haiku-4-5", "hi", "--trace", "jaeger")

    assert result.exit_code == 2
    assert "pip install opentelemetry-sdk opentelemetry-exporter-otlp-proto-http" in result.stderr
    assert bad.exit_code == 2
    assert "give console, otlp, or a collector URL such as http://localhost:4318" in bad.stderr
