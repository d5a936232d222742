"""The client agentkit makes when an agent has none: no credentials is agentkit's one-line error."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentkit import Agent, ConfigurationError, PromptError
from agentkit.errors import MissingAPIKey


@pytest.fixture
def no_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_PROFILE", "ANTHROPIC_CONFIG_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))  # no profile on disk either
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / ".config"))


def test_no_api_key_says_how_to_set_it(no_credentials: None) -> None:
    agent = Agent(model="claude-haiku-4-5")

    with pytest.raises(MissingAPIKey) as caught:
        agent.run_sync("hi")

    message = str(caught.value)
    assert isinstance(caught.value, ConfigurationError)
    assert "\n" not in message
    assert message.startswith("No Anthropic API key: export ANTHROPIC_API_KEY=sk-ant-...")
    assert "client=anthropic.AsyncAnthropic(api_key=...)" in message
    assert "`agentkit dev-server`" in message
    assert caught.value.__traceback__ is not None
    assert "TypeError" not in repr(caught.value.__context__)


def test_a_prompt_error_is_still_reported_first(no_credentials: None) -> None:
    agent = Agent(model="claude-haiku-4-5", system="Hi {{ user }}.")

    with pytest.raises(PromptError, match="'user' is undefined"):
        agent.run_sync("hi")


def test_a_key_in_the_environment_is_used(
    no_credentials: None, monkeypatch: pytest.MonkeyPatch, messages_server: object
) -> None:
    from agentkit.testing import MessagesServer, Reply

    assert isinstance(messages_server, MessagesServer)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", messages_server.url)
    messages_server.script(Reply.text("hello"))

    assert Agent(model="claude-haiku-4-5").run_sync("hi").output == "hello"
    headers = messages_server.requests[0].headers
    assert "sk-ant-test" in (headers.get("x-api-key") or headers.get("authorization") or "")
