"""The snippets of docs/local-models.md run against the live server and print what they say."""

from __future__ import annotations

import contextlib
import io
import os
import re
from pathlib import Path

import pytest

PAGE = Path(__file__).resolve().parents[2] / "docs" / "local-models.md"
FENCE = re.compile(r"^```py\n(.*?)^```", re.S | re.M)
EXPECTED = re.compile(r"^\s*print\(.*\)  # (.*)$", re.M)
DOC_URL, DOC_KEY = "http://127.0.0.1:8080", "local-secret"  # what the page tells readers to start


def test_local_models_page_runs_against_llama_server(monkeypatch: pytest.MonkeyPatch) -> None:
    url, key = os.environ["AGENTKIT_E2E_BASE_URL"], os.environ["AGENTKIT_E2E_API_KEY"]
    monkeypatch.setenv("ANTHROPIC_BASE_URL", url)
    monkeypatch.setenv("ANTHROPIC_API_KEY", key)
    snippets = FENCE.findall(PAGE.read_text(encoding="utf-8"))
    assert snippets
    namespace: dict[str, object] = {}
    for number, code in enumerate(snippets, start=1):
        live = code.replace(DOC_URL, url).replace(DOC_KEY, key)
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(live, f"local-models.md[snippet {number}]", "exec"), namespace)
        assert out.getvalue().splitlines() == EXPECTED.findall(code), f"snippet {number}"
