"""Stage 5: one model call through the SDK, and the response turned back into history.

This is the only stage that imports `anthropic`, so `import agentkit` stays fast.
"""

from __future__ import annotations

import inspect
from functools import cache
from typing import TYPE_CHECKING, Any, cast

import anthropic

from ..errors import APIError

if TYPE_CHECKING:
    from anthropic.types import Message, MessageParam


async def call_model(client: anthropic.AsyncAnthropic, params: dict[str, Any]) -> Message:
    """Send one request. The SDK retries 408/409/429/5xx itself; what is left is an `APIError`."""
    kwargs, extra_body = _split_params(params)
    if extra_body:
        kwargs["extra_body"] = {**kwargs.get("extra_body", {}), **extra_body}
    try:
        return cast("Message", await client.messages.create(**kwargs))
    except anthropic.APIStatusError as exc:
        raise _api_error(exc, exc.status_code, exc.request_id, _error_type(exc.body)) from exc
    except anthropic.APIError as exc:
        raise _api_error(exc, None, None, type(exc).__name__) from exc


def assistant_message(response: Message) -> MessageParam | None:
    """The response as an assistant turn to send back, or None when it has nothing to send.

    Blocks are dumped as the SDK would send them, so thinking blocks and their signatures go back
    unmodified. Empty text blocks are dropped: the API rejects them in a request.
    """
    content = [
        block.model_dump(
            mode="json", by_alias=True, exclude_unset=True, exclude=getattr(block, "__api_exclude__", None)
        )
        for block in response.content
        if not (block.type == "text" and not block.text)
    ]
    if not content:
        return None
    return cast("MessageParam", {"role": "assistant", "content": content})


def _split_params(params: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Keywords `messages.create` takes, and the rest, which travel in `extra_body`.

    Fields such as `temperature` left the SDK's signature but some models still take them.
    """
    accepted = _create_keywords()
    kwargs = {k: v for k, v in params.items() if k in accepted}
    return kwargs, {k: v for k, v in params.items() if k not in accepted}


@cache
def _create_keywords() -> frozenset[str]:
    create = anthropic.resources.messages.AsyncMessages.create
    return frozenset(inspect.signature(create).parameters) - {"self"}


def _error_type(body: object) -> str | None:
    if isinstance(body, dict):
        error = body.get("error")
        kind = error.get("type") if isinstance(error, dict) else None
        if isinstance(kind, str):
            return kind
    return None


def _api_error(
    exc: Exception, status: int | None, request_id: str | None, error_type: str | None
) -> APIError:
    where = ", ".join(
        part
        for part in (
            f"status {status}" if status else "",
            error_type or "",
            f"request_id {request_id}" if request_id else "",
        )
        if part
    )
    return APIError(
        f"Messages API call failed ({where}): {exc}",
        status_code=status,
        request_id=request_id,
        error_type=error_type,
    )
