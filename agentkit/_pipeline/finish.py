"""Stage 7: turn the final response into the run's output."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from anthropic.types import Message


def text_output(response: Message) -> str:
    """The answer's text: every text block of the final response, joined."""
    return "".join(block.text for block in response.content if block.type == "text")
