"""Stage 3: assemble the request params from the agent's settings and the history.

Pure: params in, new params out, so it is tested without a server.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from anthropic.types import MessageParam

    from ..tools import Tool


def user_message(prompt: str | Sequence[dict[str, Any]]) -> MessageParam:
    """The user turn for a prompt: a string, or content blocks (text, image, document)."""
    content = prompt if isinstance(prompt, str) else list(prompt)
    return cast("MessageParam", {"role": "user", "content": content})


def build_params(
    *,
    model: str,
    max_tokens: int,
    system: str | None,
    tools: Sequence[Tool],
    messages: list[MessageParam],
    request_params: dict[str, Any],
) -> dict[str, Any]:
    """The keyword arguments of `messages.create` for one request.

    `request_params` go last so a user can set any field the API takes.
    """
    params: dict[str, Any] = {"model": model, "max_tokens": max_tokens, "messages": messages}
    if system is not None:
        params["system"] = system
    if tools:
        params["tools"] = [tool.to_param() for tool in tools]
    params.update(request_params)
    return params
