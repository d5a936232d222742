"""A spec asking for what the Messages API would refuse fails on load, at its line, with the fix."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from agentkit import SpecError
from agentkit.spec import load_spec

if TYPE_CHECKING:
    from conftest import Files  # the fixture's type (tests/conftest.py)


def problems(files: Files, text: str) -> list[str]:
    files.write("a.yaml", text)
    with pytest.raises(SpecError) as caught:
        load_spec("a.yaml")
    return caught.value.problems


def test_stop_sequences_need_text(files: Files) -> None:
    assert problems(files, "model: m\nstop_sequences: ['  ', '', END]\n") == [
        "a.yaml:2:18: stop_sequences[0]: is whitespace only ('  '); the API needs each stop sequence to contain text",
        "a.yaml:2:24: stop_sequences[1]: is empty; the API needs each stop sequence to contain text",
    ]


def test_a_thinking_budget_is_at_least_1024_and_below_max_tokens(files: Files) -> None:
    assert problems(files, "model: m\nthinking: {type: enabled, budget_tokens: 5}\n") == [
        "a.yaml:2:42: thinking.budget_tokens: 5 is below the API's minimum of 1,024"
    ]
    assert problems(files, "model: m\nmax_tokens: 2000\nthinking: {type: enabled, budget_tokens: 2000}\n") == [
        "a.yaml:3:42: thinking.budget_tokens: 2,000 must be below max_tokens (2,000): thinking is part of the "
        "output; raise max_tokens or lower the budget"
    ]
    assert problems(files, "model: m\nthinking: {type: enabled}\n") == [
        "a.yaml:2:11: thinking.budget_tokens: `type: enabled` needs an integer budget_tokens (got None)"
    ]
    assert problems(files, "model: m\nthinking: {type: adaptiv}\n") == [
        "a.yaml:2:18: thinking.type: give one of adaptive, enabled, disabled (got 'adaptiv'); did you mean 'adaptive'?"
    ]


def test_thinking_takes_no_sampling_settings(files: Files) -> None:
    assert problems(files, "model: m\nthinking: {type: adaptive}\ntemperature: 0.2\ntop_p: 0.9\n") == [
        "a.yaml:3:14: temperature: with thinking on, the API takes only temperature 1; remove it",
        "a.yaml:4:8: top_p: the API refuses top_p with thinking on; remove it",
    ]


def test_max_tokens_is_bounded_by_the_largest_output_limit(files: Files) -> None:
    assert problems(files, "model: m\nmax_tokens: 12345678901234567890123\n") == [
        "a.yaml:2:13: max_tokens: 12,345,678,901,234,567,890,123 is more than any model can write; the largest "
        "output limit is 128,000 tokens (the model's own may be lower)"
    ]


def test_request_params_may_not_replace_a_setting(files: Files) -> None:
    text = "model: m\nrequest_params:\n  model: x\n  system: y\n  tools: []\n  messages: []\n  metadata: {user_id: u}\n"

    assert problems(files, text) == [
        "a.yaml:3:3: request_params.model: would silently replace what agentkit sends for model; "
        "use the `model` setting instead",
        "a.yaml:4:3: request_params.system: would silently replace what agentkit sends for system; "
        "use the `system` (or `system_file`) setting instead",
        "a.yaml:5:3: request_params.tools: would silently replace what agentkit sends for tools; "
        "use the `tools` setting instead",
        "a.yaml:6:3: request_params.messages: would silently replace what agentkit sends for messages; use the run's "
        "prompt and history (`history=`, a session, or `agentkit run SPEC PROMPT`) instead",
    ]


def test_what_the_api_takes_still_loads(files: Files) -> None:
    files.write(
        "a.yaml",
        "model: m\nmax_tokens: 128000\nstop_sequences: ['\\n\\nHuman:']\n"
        "thinking: {type: enabled, budget_tokens: 1024}\n"
        "request_params: {metadata: {user_id: u}, tool_choice: {type: auto}}\n",
    )

    assert load_spec("a.yaml").spec.thinking == {"type": "enabled", "budget_tokens": 1024}


def test_thinking_sent_through_request_params_is_checked_there(files: Files) -> None:
    text = "model: m\nrequest_params:\n  max_tokens: 3000\n  thinking: {type: enabled, budget_tokens: 3000}\n"

    assert problems(files, text) == [
        "a.yaml:4:44: request_params.thinking.budget_tokens: 3,000 must be below max_tokens (3,000): thinking is "
        "part of the output; raise max_tokens or lower the budget"
    ]
