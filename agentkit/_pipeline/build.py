"""Stage 3: assemble the request params from the agent's settings and the history.

Pure: settings and history in, new params out, so it is tested without a server.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

from ..errors import InputError
from ..output import OUTPUT_TOOL, OutputSpec

if TYPE_CHECKING:
    from anthropic.types import MessageParam

    from ..agent import Agent


# The Messages API's documented limits on base64 media in a request.
_MAX_IMAGE_BYTES = 5 * 1024 * 1024
_MAX_PDF_BYTES = 32 * 1024 * 1024
_IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})


def user_message(prompt: str | Sequence[dict[str, Any]]) -> MessageParam:
    """The user turn for a prompt: a string, or content blocks (text, image, document).

    Media the API would refuse (too large, an unknown image type) fails here, before any request.
    """
    if isinstance(prompt, str):
        return cast("MessageParam", {"role": "user", "content": prompt})
    content = list(prompt)
    for index, block in enumerate(content):
        _check_media(index, block)
    return cast("MessageParam", {"role": "user", "content": content})


def _check_media(index: int, block: Any) -> None:
    source = block.get("source") if isinstance(block, dict) else None
    if not isinstance(source, dict) or source.get("type") != "base64":
        return
    size = len(source.get("data", "")) * 3 // 4  # decoded bytes
    kind, media_type = block.get("type"), source.get("media_type")
    if kind == "image" and media_type not in _IMAGE_TYPES:
        raise InputError(f"prompt[{index}]: image media_type {media_type!r} is not one of {sorted(_IMAGE_TYPES)}")
    limit = _MAX_IMAGE_BYTES if kind == "image" else _MAX_PDF_BYTES
    if size > limit:
        raise InputError(
            f"prompt[{index}]: the {kind} is {size / 1024 / 1024:.1f} MB, over the API's {limit // 1024 // 1024} MB "
            f"limit; resize or compress it, or pass it by URL or file id"
        )


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
    params.update(agent.memory_strategy.request_params(agent.memory_budget))
    if agent.memory_strategy.betas:
        params["betas"] = list(agent.memory_strategy.betas)
    extra = dict(agent.request_params)
    if "output_config" in params:
        extra.pop("output_config", None)  # merged with the output format above
    params.update(extra)
    return params
