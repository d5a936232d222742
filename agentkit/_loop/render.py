"""Stage 1: render the system prompt, before anything is sent."""

from __future__ import annotations

from typing import Any

from ..output import OUTPUT_TOOL, OutputSpec
from ..prompts import SystemPrompt

_ANSWER_WITH_TOOL = (
    f"When you have the final answer, give it by calling the `{OUTPUT_TOOL}` tool; do not write it as text."
)


def render_system(
    prompt: SystemPrompt | None, variables: dict[str, Any], output: OutputSpec[Any] | None, *, thinking: bool
) -> str | None:
    """The system text for this run, or None when there is none.

    With thinking on, `tool_choice` cannot force the output tool, so the prompt asks for it.
    """
    text = prompt.render(variables) if prompt is not None else ""
    if output is not None and output.mode == "tool" and thinking:
        text = f"{text}\n\n{_ANSWER_WITH_TOOL}" if text.strip() else _ANSWER_WITH_TOOL
    return text if text.strip() else None
