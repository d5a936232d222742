"""Stage 1: render the system prompt, before anything is sent."""

from __future__ import annotations

from typing import Any

from ..prompts import SystemPrompt


def render_system(prompt: SystemPrompt | None, variables: dict[str, Any]) -> str | None:
    """The system text for this run, or None when the agent has no system prompt."""
    if prompt is None:
        return None
    text = prompt.render(variables)
    return text if text.strip() else None
