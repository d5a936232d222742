"""Stage 3: assemble the request params from the agent's settings and the history.

Pure: settings and history in, new params out, so it is tested without a server.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

from ..output import OUTPUT_TOOL, OutputSpec

if TYPE_CHECKING:
    from anthropic.types import MessageParam

    from ..agent import Agent


def user_message(prompt: str | Sequence[dict[str, Any]]) -> MessageParam:
    """The user turn for a prompt: a string, or content blocks (text, image, document)."""
    content = prompt if isinstance(prompt, str) else list(prompt)
    return cast("MessageParam", {"role": "user", "content": content})


def build_params(
    agent: Agent, system: str | None, messages: list[MessageParam], output: OutputSpec[Any] | None
) -> dict[str, Any]:
    """The keyword arguments of `messages.create` for one request.

    `request_params` go last so a user can set any field the API takes.
    """
    params: dict[str, Any] = {"model": agent.model, "max_tokens": agent.max_tokens, "messages": messages}
    if system is not None:
        params["system"] = system
    tools = [tool.to_param() for tool in agent.toolset.values()]
    for name in ("temperature", "top_p", "stop_sequences", "thinking"):
        value = getattr(agent, name)
        if value is not None:
            params[name] = value
    if output is not None and output.mode == "tool":
        tools.append(output.tool_param())
        if agent.thinking is None:  # the API refuses a forced tool_choice with thinking
            forced = {"type": "tool", "name": OUTPUT_TOOL} if len(tools) == 1 else {"type": "any"}
            params["tool_choice"] = forced
    elif output is not None:
        config = dict(agent.request_params.get("output_config") or {})
        params["output_config"] = {**config, "format": output.native_format()}
    if tools:
        params["tools"] = tools
    extra = dict(agent.request_params)
    if "output_config" in params:
        extra.pop("output_config", None)  # merged with the output format above
    params.update(extra)
    return params
