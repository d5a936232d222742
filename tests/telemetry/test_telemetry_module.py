"""`agentkit.telemetry`: its public names, and that importing it costs nothing."""

from __future__ import annotations

import subprocess
import sys

import agentkit.telemetry


def test_all_is_sorted_and_every_name_resolves() -> None:
    assert agentkit.telemetry.__all__ == sorted(agentkit.telemetry.__all__)
    for name in agentkit.telemetry.__all__:
        assert getattr(agentkit.telemetry, name) is not None


def test_importing_it_imports_neither_opentelemetry_nor_structlog() -> None:
    heavy = "{'opentelemetry', 'structlog', 'anthropic'}"
    code = f"import sys, agentkit.telemetry; print(sorted({{m.split('.')[0] for m in sys.modules}} & {heavy}))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
