"""The public surface, and what importing it costs."""

from __future__ import annotations

import subprocess
import sys

import agentkit


def test_all_is_sorted_and_every_name_resolves() -> None:
    assert agentkit.__all__ == sorted(agentkit.__all__)
    assert set(agentkit.__all__) == set(agentkit._EXPORTS)
    for name in agentkit.__all__:
        assert getattr(agentkit, name) is not None


def test_importing_agentkit_and_the_agent_does_not_import_the_sdk() -> None:
    code = "import sys, agentkit; from agentkit import Agent, tool; print('anthropic' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
