"""Request validation modelled on the Messages API's 400s, so tests prove a request would be accepted.

`validate(body)` returns the first error message, worded like the real API's (`messages.N.content.M:`
paths, pydantic-style field errors), or None. The rules, in the order they are checked:

- top level: only the fields `AsyncMessages.create` (`count_tokens` for that endpoint) puts in the
  body, plus `temperature`/`top_p`/`top_k` sent via `extra_body`, plus the beta client's fields
  when `beta` (an `anthropic-beta` header came with the request): "x: Extra inputs are not
  permitted"; `model`, `messages` and (for /v1/messages) `max_tokens` are required, and
  `0 <= max_tokens <= max_output_tokens`;
- `messages`: a non-empty list of `user`/`assistant` messages whose content is a string or a list
  of known blocks (server-tool blocks pass leniently); `tool_use`, `thinking` and
  `redacted_thinking` only from the assistant, `tool_result` only from the user; text blocks,
  nested ones included, non-empty and not whitespace-only; every message but a final assistant one
  non-empty; a final assistant message (prefill) not ending in whitespace, and refused outright
  when the model does not support prefill (`prefill=False`);
- tool pairing, on turns merged like the API merges consecutive same-role messages: each
  `tool_use` id answered by a `tool_result` in the very next turn, with all `tool_result` blocks
  first there; each `tool_result` answering a `tool_use` of the previous turn; `tool_use` ids unique
  and matching `^[a-zA-Z0-9_-]+$`;
- `tools`: custom tool names matching `^[a-zA-Z0-9_-]{1,128}$` (the pattern in the API's current
  400, "tools.N.custom.name: String should match pattern ..."; it was {1,64} until 2025) and
  unique; an `input_schema` of `type: object`; `tool_choice` only with tools, naming one of them;
- at most 4 `cache_control` breakpoints (tools, system and message blocks, and the top-level
  `cache_control`, which counts as the last); no `ttl: "1h"` breakpoint after a 5-minute one;
- thinking: `enabled` needs `1024 <= budget_tokens < max_tokens`; `enabled`/`adaptive` forbid a
  forced `tool_choice` (`any`/`tool`), a `temperature` other than 1, `top_p` and `top_k`; with
  `enabled`, the assistant turn answered by the final tool_result turn must start with a
  `thinking`/`redacted_thinking` block (adaptive thinking may legitimately skip thinking, so it is
  exempt here); every `thinking` block must carry the signature this server issued for its text;
- `system`: a string or a list of non-empty text blocks;
- the estimated prompt must fit `context_window` ("prompt is too long: N tokens > M maximum").

Relied on: the SDK 2.10 signatures (`resources/messages/messages.py`) for the field sets; the
API's own 400 messages as quoted verbatim in public issue reports (tool pairing, empty text,
prefill, signature, tool-name pattern, "Tool names must be unique.", "tool_choice may only be
specified while providing tools.", thinking + tool_choice, cache_control count). Messages whose
exact wording was not found are phrased in the same style. Assistant-first conversations are
allowed, as the first-party API accepts them (anthropic-sdk-typescript#622).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, Literal

from agentkit.testing._script import thinking_signature
from agentkit.testing._tokens import estimate_tokens

__all__ = ["BETA_FIELDS", "COUNT_TOKENS_FIELDS", "MESSAGES_FIELDS", "validate"]

# The body keys `AsyncMessages.create` / `.count_tokens` send in SDK 2.10 (`user_profile_id` and
# `workspace_id` go in headers), plus the sampling fields users pass through `extra_body`.
MESSAGES_FIELDS = frozenset({
    "max_tokens", "messages", "model", "cache_control", "container", "diagnostics", "inference_geo",
    "metadata", "output_config", "service_tier", "speed", "stop_sequences", "stream", "system",
    "thinking", "tool_choice", "tools", "temperature", "top_p", "top_k",
})  # fmt: skip
COUNT_TOKENS_FIELDS = frozenset({
    "messages", "model", "cache_control", "output_config", "speed", "system", "thinking", "tool_choice",
    "tools",
})  # fmt: skip
# What `client.beta.messages.create` adds; accepted with an `anthropic-beta` header (`betas=`).
BETA_FIELDS = frozenset({
    "billing_policy", "compaction", "context_management", "fallback_credit_token", "fallbacks", "mcp_servers",
    "thread",
})  # fmt: skip
_CORE_TYPES = (
    "text", "image", "document", "search_result", "tool_use", "tool_result", "thinking", "redacted_thinking",
)  # fmt: skip
_NESTED_TYPES = ("text", "image", "document", "search_result")
_ASSISTANT_ONLY = {"tool_use", "thinking", "redacted_thinking"}
_TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,128}$")
_TOOL_USE_ID = re.compile(r"^[a-zA-Z0-9_-]+$")
_MAX_BREAKPOINTS = 4
_TTL_ORDER = (
    "cache_control: a breakpoint with ttl='1h' cannot come after one with ttl='5m'; longer TTLs must come "
    "first, in the order tools, system, messages"
)
_THINKING_DOCS = "https://docs.claude.com/en/docs/build-with-claude/extended-thinking"
_NO_PREFILL = "This model does not support assistant message prefill. The conversation must end with a user message."
_EMPTY_CONTENT = (
    "messages.{i}: all messages must have non-empty content except for the optional final assistant message"
)
_UNKNOWN_TAG = "{path}: Input tag '{kind}' found using 'type' does not match any of the expected tags: {expected}"
_NESTED_TYPE = "{path}.tool_result.content.{k}.type: Input should be 'text', 'image', 'document' or 'search_result'"
_UNEXPECTED_RESULT = (
    "messages.{i}.content.{j}: unexpected `tool_use_id` found in `tool_result` blocks: {id}. "
    "Each `tool_result` block must have a corresponding `tool_use` block in the previous message."
)
_MISSING_RESULTS = (
    "messages.{i}: `tool_use` ids were found without `tool_result` blocks immediately after: {ids}. "
    "Each `tool_use` block must have a corresponding `tool_result` block in the next message."
)
_RESULTS_NOT_FIRST = (
    "messages.{i}: Did not find {n} `tool_result` block(s) at the beginning of this message. "
    "Messages following `tool_use` blocks must begin with a matching number of `tool_result` blocks."
)
_BUDGET = (
    "`max_tokens` must be greater than `thinking.budget_tokens`. Please consult our documentation at "
    f"{_THINKING_DOCS}#max-tokens-and-context-window-size"
)
_THINKING_FIRST = (
    "messages.{i}.content.0.type: Expected `thinking` or `redacted_thinking`, but found `{found}`. "
    "When `thinking` is enabled, a final `assistant` message must start with a thinking block (preceeding "
    "the lastmost set of `tool_use` and `tool_result` blocks). We recommend you include thinking blocks from "
    "previous turns. To avoid this requirement, disable `thinking`. Please consult our documentation at "
    f"{_THINKING_DOCS}"
)


class _Invalid(Exception):
    """Carries the first rejection message out of the nested checks."""


def validate(
    body: Any,
    *,
    prefill: bool = True,
    endpoint: Literal["messages", "count_tokens"] = "messages",
    beta: bool = False,
    max_output_tokens: int = 64_000,
    context_window: int = 200_000,
) -> str | None:
    """The message of the 400 the Messages API would answer `body` with, or None if it is valid."""
    try:
        _check(body, prefill, endpoint, beta, max_output_tokens, context_window)
    except _Invalid as err:
        return str(err)
    return None


def _check(body: Any, prefill: bool, endpoint: str, beta: bool, max_output: int, window: int) -> None:
    if not isinstance(body, dict):
        raise _Invalid("Request body must be a JSON object")
    known = MESSAGES_FIELDS if endpoint == "messages" else COUNT_TOKENS_FIELDS
    for key in body:
        if key not in known and not (beta and key in BETA_FIELDS):
            raise _Invalid(f"{key}: Extra inputs are not permitted")
    for key in ("model", "max_tokens", "messages") if endpoint == "messages" else ("model", "messages"):
        if key not in body:
            raise _Invalid(f"{key}: Field required")
    if not isinstance(body["model"], str):
        raise _Invalid("model: Input should be a valid string")
    if endpoint == "messages":
        _check_max_tokens(body["max_tokens"], body["model"], max_output)
    messages = body["messages"]
    if not isinstance(messages, list):
        raise _Invalid("messages: Input should be a valid list")
    if not messages:
        raise _Invalid("messages: at least one message is required")
    _check_system(body.get("system"))
    _check_tools(body.get("tools"), body.get("tool_choice"))
    for i, message in enumerate(messages):
        _check_message(i, message, final=i == len(messages) - 1, prefill=prefill)
    _check_pairing(messages)
    _check_thinking(body, messages, endpoint)
    _check_breakpoints(body)
    tokens = estimate_tokens(body)
    if tokens > window:
        raise _Invalid(f"prompt is too long: {tokens} tokens > {window} maximum")


def _check_max_tokens(value: Any, model: str, limit: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise _Invalid("max_tokens: Input should be a valid integer")
    if value < 0:
        raise _Invalid("max_tokens: Input should be greater than or equal to 0")
    if value > limit:
        raise _Invalid(
            f"max_tokens: {value} > {limit}, which is the maximum allowed number of output tokens for {model}"
        )


def _check_text(path: str, block: dict[str, Any], where: str) -> None:
    value = block.get("text")
    if not isinstance(value, str):
        raise _Invalid(f"{path}.text: Input should be a valid string")
    if value == "":
        raise _Invalid(f"{where}: text content blocks must be non-empty")
    if not value.strip():
        raise _Invalid(f"{where}: text content blocks must contain non-whitespace text")


def _check_system(system: Any) -> None:
    if system is None or isinstance(system, str):
        return
    if not isinstance(system, list):
        raise _Invalid("system: Input should be a valid string or a valid list")
    for k, block in enumerate(system):
        if not isinstance(block, dict) or block.get("type") != "text":
            raise _Invalid(f"system.{k}.type: Input should be 'text'")
        _check_text(f"system.{k}", block, "system")
        _check_cache_control(f"system.{k}", block)


def _check_cache_control(path: str, block: dict[str, Any]) -> None:
    control = block.get("cache_control")
    if control is None:
        return
    if not isinstance(control, dict) or control.get("type") != "ephemeral":
        raise _Invalid(f"{path}.cache_control.type: Input should be 'ephemeral'")
    if control.get("ttl", "5m") not in ("5m", "1h"):
        raise _Invalid(f"{path}.cache_control.ttl: Input should be '5m' or '1h'")


def _check_tools(tools: Any, choice: Any) -> None:
    names: set[str] = set()
    if tools is not None and not isinstance(tools, list):
        raise _Invalid("tools: Input should be a valid list")
    for k, tool in enumerate(tools or []):
        if not isinstance(tool, dict):
            raise _Invalid(f"tools.{k}: Input should be a valid dictionary")
        name = tool.get("name")
        if tool.get("type") in (None, "custom"):
            if not isinstance(name, str) or not _TOOL_NAME.match(name):
                raise _Invalid(f"tools.{k}.custom.name: String should match pattern '^[a-zA-Z0-9_-]{{1,128}}$'")
            schema = tool.get("input_schema")
            if schema is None:
                raise _Invalid(f"tools.{k}.custom.input_schema: Field required")
            if not isinstance(schema, dict) or schema.get("type") != "object":
                raise _Invalid(f"tools.{k}.custom.input_schema.type: Input should be 'object'")
        _check_cache_control(f"tools.{k}", tool)
        if isinstance(name, str):
            if name in names:
                raise _Invalid("tools: Tool names must be unique.")
            names.add(name)
    if choice is None:
        return
    kind = choice.get("type") if isinstance(choice, dict) else None
    if kind not in ("auto", "any", "tool", "none"):
        raise _Invalid("tool_choice.type: Input should be 'auto', 'any', 'tool' or 'none'")
    if kind != "none" and not tools:
        raise _Invalid("tool_choice may only be specified while providing tools.")
    if kind == "tool" and choice.get("name") not in names:
        raise _Invalid(f"tool_choice.tool.name: tool `{choice.get('name')}` was not found in `tools`")


def _blocks_of(message: dict[str, Any]) -> list[Any]:
    content = message.get("content")
    return [{"type": "text", "text": content}] if isinstance(content, str) else list(content or [])


def _check_message(i: int, message: Any, *, final: bool, prefill: bool) -> None:
    if not isinstance(message, dict):
        raise _Invalid(f"messages.{i}: Input should be a valid dictionary")
    role = message.get("role")
    if role not in ("user", "assistant"):
        raise _Invalid(f"messages.{i}.role: Input should be 'user' or 'assistant'")
    if "content" not in message:
        raise _Invalid(f"messages.{i}.content: Field required")
    content = message["content"]
    if not isinstance(content, str | list):
        raise _Invalid(f"messages.{i}.content: Input should be a valid string or a valid list")
    final_assistant = final and role == "assistant"
    if final_assistant and not prefill:
        raise _Invalid(_NO_PREFILL)
    if not content:
        if final_assistant:
            return
        raise _Invalid(_EMPTY_CONTENT.format(i=i))
    if isinstance(content, list):
        for j, block in enumerate(content):
            _check_block(f"messages.{i}.content.{j}", block, role)
    else:
        _check_text(f"messages.{i}.content", {"text": content}, "messages")
    last = str(_blocks_of(message)[-1].get("text", ""))
    if final_assistant and last != last.rstrip():
        raise _Invalid("messages: final assistant content cannot end with trailing whitespace")


def _check_block(path: str, block: Any, role: str) -> None:
    if not isinstance(block, dict):
        raise _Invalid(f"{path}: Input should be a valid dictionary")
    kind = block.get("type")
    lenient = isinstance(kind, str) and (
        kind.endswith(("_tool_result", "_tool_use")) or kind in ("container_upload", "compaction", "tool_reference")
    )
    if kind not in _CORE_TYPES and not lenient:
        expected = ", ".join(f"'{t}'" for t in _CORE_TYPES)
        raise _Invalid(_UNKNOWN_TAG.format(path=path, kind=kind, expected=expected))
    if (kind in _ASSISTANT_ONLY and role != "assistant") or (kind == "tool_result" and role != "user"):
        raise _Invalid(f"{path}: `{kind}` blocks are not allowed in `{role}` messages")
    _check_cache_control(path, block)
    if kind == "text":
        _check_text(f"{path}.text", block, "messages")
    elif kind in ("image", "document") and not isinstance(block.get("source"), dict):
        raise _Invalid(f"{path}.{kind}.source: Field required")
    elif kind == "tool_use":
        if not isinstance(block.get("id"), str) or not _TOOL_USE_ID.match(block["id"]):
            raise _Invalid(f"{path}.tool_use.id: String should match pattern '^[a-zA-Z0-9_-]+$'")
        if not isinstance(block.get("name"), str):
            raise _Invalid(f"{path}.tool_use.name: Field required")
        if not isinstance(block.get("input"), dict):
            raise _Invalid(f"{path}.tool_use.input: Input should be a valid dictionary")
    elif kind == "tool_result":
        if not isinstance(block.get("tool_use_id"), str):
            raise _Invalid(f"{path}.tool_result.tool_use_id: Field required")
        nested = block.get("content")
        if nested is not None and not isinstance(nested, str | list):
            raise _Invalid(f"{path}.tool_result.content: Input should be a valid string or a valid list")
        for k, inner in enumerate(nested if isinstance(nested, list) else []):
            if not isinstance(inner, dict) or inner.get("type") not in _NESTED_TYPES:
                raise _Invalid(_NESTED_TYPE.format(path=path, k=k))
            if inner["type"] == "text":
                _check_text(f"{path}.content.{k}.text", inner, "messages")
            _check_cache_control(f"{path}.content.{k}", inner)
    elif kind == "thinking":
        if not isinstance(block.get("thinking"), str):
            raise _Invalid(f"{path}.thinking.thinking: Field required")
        if "signature" not in block:
            raise _Invalid(f"{path}.thinking.signature: Field required")
        if block["signature"] != thinking_signature(block["thinking"]):
            raise _Invalid(f"{path}: Invalid `signature` in `thinking` block")
    elif kind == "redacted_thinking" and not isinstance(block.get("data"), str):
        raise _Invalid(f"{path}.redacted_thinking.data: Field required")


def _turns(messages: list[dict[str, Any]]) -> list[tuple[str, list[tuple[int, int, dict[str, Any]]]]]:
    """Consecutive same-role messages merged, as the API does; blocks keep their (message, index)."""
    turns: list[tuple[str, list[tuple[int, int, dict[str, Any]]]]] = []
    for i, message in enumerate(messages):
        blocks = [(i, j, b) for j, b in enumerate(_blocks_of(message))]
        if turns and turns[-1][0] == message["role"]:
            turns[-1][1].extend(blocks)
        else:
            turns.append((message["role"], blocks))
    return turns


def _of_type(blocks: list[tuple[int, int, dict[str, Any]]], kind: str) -> Iterator[tuple[int, int, dict[str, Any]]]:
    return (entry for entry in blocks if entry[2].get("type") == kind)


def _check_pairing(messages: list[dict[str, Any]]) -> None:
    turns = _turns(messages)
    seen: set[str] = set()
    for t, (role, blocks) in enumerate(turns):
        previous = turns[t - 1] if t > 0 else None
        if role == "user":
            offered = {b["id"] for _, _, b in _of_type(previous[1], "tool_use")} if previous else set()
            for i, j, block in _of_type(blocks, "tool_result"):
                if block["tool_use_id"] not in offered:
                    raise _Invalid(_UNEXPECTED_RESULT.format(i=i, j=j, id=block["tool_use_id"]))
            continue
        uses = list(_of_type(blocks, "tool_use"))
        for i, j, block in uses:
            if block["id"] in seen:
                raise _Invalid(f"messages.{i}.content.{j}: `tool_use` ids must be unique")
            seen.add(block["id"])
        following = turns[t + 1][1] if t + 1 < len(turns) else []
        answered = {b["tool_use_id"] for _, _, b in _of_type(following, "tool_result")}
        missing = [(i, b["id"]) for i, _, b in uses if b["id"] not in answered]
        if missing:
            ids = ", ".join(m[1] for m in missing)
            raise _Invalid(_MISSING_RESULTS.format(i=missing[0][0], ids=ids))
        kinds = [b.get("type") for _, _, b in following]
        if uses and _results_not_first(kinds):
            raise _Invalid(_RESULTS_NOT_FIRST.format(i=following[0][0], n=len(uses)))


def _results_not_first(kinds: list[Any]) -> bool:
    first_other = next((n for n, k in enumerate(kinds) if k != "tool_result"), len(kinds))
    return "tool_result" in kinds[first_other:]


def _thinking_on(body: dict[str, Any]) -> str | None:
    config = body.get("thinking")
    if config is None:
        return None
    kind = config.get("type") if isinstance(config, dict) else None
    if kind not in ("enabled", "disabled", "adaptive"):
        raise _Invalid("thinking.type: Input should be 'enabled', 'disabled' or 'adaptive'")
    return None if kind == "disabled" else str(kind)


def _check_thinking(body: dict[str, Any], messages: list[dict[str, Any]], endpoint: str) -> None:
    mode = _thinking_on(body)
    if mode is None:
        return
    if mode == "enabled":
        budget = body["thinking"].get("budget_tokens")
        if not isinstance(budget, int) or isinstance(budget, bool):
            raise _Invalid("thinking.enabled.budget_tokens: Field required")
        if budget < 1024:
            raise _Invalid("thinking.enabled.budget_tokens: Input should be greater than or equal to 1024")
        if endpoint == "messages" and budget >= body["max_tokens"]:
            raise _Invalid(_BUDGET)
    choice = body.get("tool_choice")
    if isinstance(choice, dict) and choice.get("type") in ("any", "tool"):
        raise _Invalid("Thinking may not be enabled when tool_choice forces tool use.")
    if body.get("temperature", 1) != 1:
        raise _Invalid("`temperature` may only be set to 1 when thinking is enabled.")
    for key in ("top_p", "top_k"):
        if key in body:
            raise _Invalid(f"`{key}` must be unset when thinking is enabled.")
    turns = _turns(messages)
    if mode != "enabled" or len(turns) < 2 or turns[-1][0] != "user" or turns[-2][0] != "assistant":
        return
    if not any(True for _ in _of_type(turns[-1][1], "tool_result")):
        return
    i, _, first = turns[-2][1][0] if turns[-2][1] else (0, 0, {"type": None})
    if first.get("type") not in ("thinking", "redacted_thinking"):
        raise _Invalid(_THINKING_FIRST.format(i=i, found=first.get("type")))


def _check_breakpoints(body: dict[str, Any]) -> None:
    system = body.get("system")
    blocks: list[Any] = [*(body.get("tools") or []), *(system if isinstance(system, list) else [])]
    for message in body["messages"]:
        for block in _blocks_of(message):
            blocks.append(block)
            if isinstance(block.get("content"), list):
                blocks.extend(block["content"])
    controls = [b["cache_control"] for b in blocks if isinstance(b, dict) and b.get("cache_control") is not None]
    if body.get("cache_control") is not None:
        controls.append(body["cache_control"])
    ttls = ["1h" if isinstance(c, dict) and c.get("ttl") == "1h" else "5m" for c in controls]
    if "5m" in ttls and "1h" in ttls[ttls.index("5m") :]:
        raise _Invalid(_TTL_ORDER)
    found = len(controls)
    if found > _MAX_BREAKPOINTS:
        raise _Invalid(f"A maximum of {_MAX_BREAKPOINTS} blocks with cache_control may be provided. Found {found}.")
