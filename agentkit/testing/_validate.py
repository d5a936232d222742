"""Request validation modelled on the Messages API's 400s, so tests prove a request would be accepted.

`validate(body)` returns the first error message, worded like the real API's (`messages.N.content.M:`
paths, pydantic-style field errors), or None. The rules, in the order they are checked:

- top level: only the fields `AsyncMessages.create` (`count_tokens` for that endpoint) puts in the
  body, plus `temperature`/`top_p`/`top_k` sent via `extra_body`, plus the beta client's fields
  when `beta` (an `anthropic-beta` header came with the request): "x: Extra inputs are not
  permitted"; `model`, `messages` and (for /v1/messages) `max_tokens` are required, and
  `0 <= max_tokens <= max_output_tokens` (0 is the API's cache pre-warming request: the SDK 2.10
  documents `max_tokens=0` as "populate the prompt cache without generating a response");
- `stop_sequences`: a list of strings, each with some non-whitespace ("stop_sequences: each stop
  sequence must contain non-whitespace", quoted verbatim in BerriAI/litellm#3286);
- `messages`: a non-empty list of `user`/`assistant` messages whose content is a string or a list
  of known blocks (server-tool blocks pass leniently); the block rules live in `_blocks`: text
  non-empty and not whitespace-only (nested too), `tool_use`/`thinking` only from the assistant,
  `tool_result` only from the user, image/document blocks only from the user, base64 media types
  and image data checked everywhere in the history, `is_error` results never empty; every message
  but a final assistant one non-empty; a final assistant message (prefill) not ending in
  whitespace, and refused outright on models that do not support prefill (`agentkit._models`'s
  table, the one agentkit itself reads, or the server-wide `prefill=False`), unless it is a
  paused server-tool turn sent back after `pause_turn` (it carries `server_tool_use` or
  `*_tool_result` blocks; see `_paused`);
- `tool_use`/`tool_result` blocks anywhere in the history need `tools` in the request ("Requests
  which include `tool_use` or `tool_result` blocks must define tools.", quoted verbatim in many
  public repositories that hit it);
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
  thinking on (`enabled` or `adaptive`), the assistant turn answered by the final tool_result turn
  must start with a `thinking`/`redacted_thinking` block; every `thinking` block must carry the
  signature this server issued for its text. (The API's message says "When `thinking` is
  enabled"; we found nothing saying an `adaptive` turn that skipped thinking is exempt, so the
  server requires it there too. That is stricter only for scripts: agentkit passes the model's
  blocks back unchanged, so a script that means a thought-less adaptive tool turn is the only
  thing this can refuse.)
- `system`: a string or a list of non-empty text blocks;
- the estimated prompt must fit `context_window` ("prompt is too long: N tokens > M maximum"), and
  with `max_tokens` too ("input length and `max_tokens` exceed context limit: 199759 + 8192 >
  200000, decrease input length or `max_tokens` and try again", quoted verbatim in
  continuedev/continue#6080 and docker/docker-agent#569, the latter from 2025-10).

Model ids are looked up in first-party form, so Bedrock (`anthropic.claude-opus-4-7-v1:0`) and
Vertex AI (`claude-opus-4-7@20251001`) ids meet the same tables (`agentkit._models.family`).

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

from agentkit._models import refuses_prefill
from agentkit.testing._blocks import Invalid, check_block, check_cache_control, check_text
from agentkit.testing._tokens import estimate_tokens

__all__ = ["BETA_FIELDS", "COUNT_TOKENS_FIELDS", "MESSAGES_FIELDS", "validate", "with_tools"]

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
_TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,128}$")
_MAX_BREAKPOINTS = 4
_TTL_ORDER = (
    "cache_control: a breakpoint with ttl='1h' cannot come after one with ttl='5m'; longer TTLs must come "
    "first, in the order tools, system, messages"
)
_THINKING_DOCS = "https://docs.claude.com/en/docs/build-with-claude/extended-thinking"
_NO_PREFILL = "This model does not support assistant message prefill. The conversation must end with a user message."
_NO_TOOLS = "Requests which include `tool_use` or `tool_result` blocks must define tools."
_EMPTY_CONTENT = (
    "messages.{i}: all messages must have non-empty content except for the optional final assistant message"
)
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
_CONTEXT_LIMIT = (
    "input length and `max_tokens` exceed context limit: {prompt} + {max_tokens} > {window}, "
    "decrease input length or `max_tokens` and try again"
)


def validate(
    body: Any,
    *,
    prefill: bool | None = None,
    endpoint: Literal["messages", "count_tokens"] = "messages",
    beta: bool = False,
    max_output_tokens: int = 64_000,
    context_window: int = 200_000,
) -> str | None:
    """The message of the 400 the Messages API would answer `body` with, or None if it is valid.

    Args:
        body: The JSON body of the request, as sent.
        prefill: Whether a final assistant message is accepted: None asks the model table
            (`agentkit._models.refuses_prefill`: the Opus 4.6+ family, Opus 5, Sonnet 5, Haiku 5
            and newer families refuse; a model it does not know accepts), True accepts it on every
            model, False refuses it on every model.
        endpoint: `"messages"` for `/v1/messages`, `"count_tokens"` for its token-counting twin.
        beta: Whether the request came from the beta client (an `anthropic-beta` header), which
            may send the beta-only fields.
        max_output_tokens: The largest `max_tokens` accepted.
        context_window: The model's context window, in (estimated) tokens.
    """
    try:
        _check(body, prefill, endpoint, beta, max_output_tokens, context_window)
    except Invalid as err:
        return str(err)
    return None


def with_tools(body: dict[str, Any]) -> dict[str, Any]:
    """A copy of the request `body` whose `tools` define every tool its history calls.

    The API refuses a history with `tool_use`/`tool_result` blocks and no `tools`, so a test that
    checks a bare history is valid to send again (`validate(with_tools({..., "messages": h}))`)
    needs definitions; the ones added take any object (`{"type": "object"}`). Tools the body
    already defines are kept as they are.

    Args:
        body: A Messages API request body (at least `messages`).
    """
    tools = list(body.get("tools") or [])
    defined = {tool.get("name") for tool in tools if isinstance(tool, dict)}
    for message in body.get("messages") or []:
        for block in _blocks_of(message) if isinstance(message, dict) else []:
            name = block.get("name") if isinstance(block, dict) and block.get("type") == "tool_use" else None
            if isinstance(name, str) and name not in defined:
                tools.append({"name": name, "input_schema": {"type": "object"}})
                defined.add(name)
    return {**body, "tools": tools} if tools else dict(body)


def _check(body: Any, prefill: bool | None, endpoint: str, beta: bool, max_output: int, window: int) -> None:
    if not isinstance(body, dict):
        raise Invalid("Request body must be a JSON object")
    known = MESSAGES_FIELDS if endpoint == "messages" else COUNT_TOKENS_FIELDS
    for key in body:
        if key not in known and not (beta and key in BETA_FIELDS):
            raise Invalid(f"{key}: Extra inputs are not permitted")
    for key in ("model", "max_tokens", "messages") if endpoint == "messages" else ("model", "messages"):
        if key not in body:
            raise Invalid(f"{key}: Field required")
    if not isinstance(body["model"], str):
        raise Invalid("model: Input should be a valid string")
    if endpoint == "messages":
        _check_max_tokens(body["max_tokens"], body["model"], max_output)
    _check_stop_sequences(body.get("stop_sequences"))
    messages = body["messages"]
    if not isinstance(messages, list):
        raise Invalid("messages: Input should be a valid list")
    if not messages:
        raise Invalid("messages: at least one message is required")
    _check_system(body.get("system"))
    _check_tools(body.get("tools"), body.get("tool_choice"))
    accepts_prefill = prefill if prefill is not None else not refuses_prefill(body["model"])  # None: unknown
    for i, message in enumerate(messages):
        _check_message(i, message, final=i == len(messages) - 1, prefill=accepts_prefill)
    if not body.get("tools") and _has_tool_blocks(messages):
        raise Invalid(_NO_TOOLS)
    _check_pairing(messages)
    _check_thinking(body, messages, endpoint)
    _check_breakpoints(body)
    tokens = estimate_tokens(body)
    if tokens > window:
        raise Invalid(f"prompt is too long: {tokens} tokens > {window} maximum")
    if endpoint == "messages" and tokens + body["max_tokens"] > window:
        raise Invalid(_CONTEXT_LIMIT.format(prompt=tokens, max_tokens=body["max_tokens"], window=window))


def _check_max_tokens(value: Any, model: str, limit: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise Invalid("max_tokens: Input should be a valid integer")
    if value < 0:
        raise Invalid("max_tokens: Input should be greater than or equal to 0")
    if value > limit:
        raise Invalid(
            f"max_tokens: {value} > {limit}, which is the maximum allowed number of output tokens for {model}"
        )


def _check_stop_sequences(value: Any) -> None:
    if value is None:
        return
    if not isinstance(value, list):
        raise Invalid("stop_sequences: Input should be a valid list")
    for k, sequence in enumerate(value):
        if not isinstance(sequence, str):
            raise Invalid(f"stop_sequences.{k}: Input should be a valid string")
        if not sequence.strip():
            raise Invalid("stop_sequences: each stop sequence must contain non-whitespace")


def _check_system(system: Any) -> None:
    if system is None or isinstance(system, str):
        return
    if not isinstance(system, list):
        raise Invalid("system: Input should be a valid string or a valid list")
    for k, block in enumerate(system):
        if not isinstance(block, dict) or block.get("type") != "text":
            raise Invalid(f"system.{k}.type: Input should be 'text'")
        check_text(f"system.{k}", block, "system")
        check_cache_control(f"system.{k}", block)


def _check_tools(tools: Any, choice: Any) -> None:
    names: set[str] = set()
    if tools is not None and not isinstance(tools, list):
        raise Invalid("tools: Input should be a valid list")
    for k, tool in enumerate(tools or []):
        if not isinstance(tool, dict):
            raise Invalid(f"tools.{k}: Input should be a valid dictionary")
        name = tool.get("name")
        if tool.get("type") in (None, "custom"):
            if not isinstance(name, str) or not _TOOL_NAME.match(name):
                raise Invalid(f"tools.{k}.custom.name: String should match pattern '^[a-zA-Z0-9_-]{{1,128}}$'")
            schema = tool.get("input_schema")
            if schema is None:
                raise Invalid(f"tools.{k}.custom.input_schema: Field required")
            if not isinstance(schema, dict) or schema.get("type") != "object":
                raise Invalid(f"tools.{k}.custom.input_schema.type: Input should be 'object'")
        check_cache_control(f"tools.{k}", tool)
        if isinstance(name, str):
            if name in names:
                raise Invalid("tools: Tool names must be unique.")
            names.add(name)
    if choice is None:
        return
    kind = choice.get("type") if isinstance(choice, dict) else None
    if kind not in ("auto", "any", "tool", "none"):
        raise Invalid("tool_choice.type: Input should be 'auto', 'any', 'tool' or 'none'")
    if kind != "none" and not tools:
        raise Invalid("tool_choice may only be specified while providing tools.")
    if kind == "tool" and choice.get("name") not in names:
        raise Invalid(f"tool_choice.tool.name: tool `{choice.get('name')}` was not found in `tools`")


def _blocks_of(message: dict[str, Any]) -> list[Any]:
    content = message.get("content")
    return [{"type": "text", "text": content}] if isinstance(content, str) else list(content or [])


def _has_tool_blocks(messages: list[dict[str, Any]]) -> bool:
    return any(block.get("type") in ("tool_use", "tool_result") for m in messages for block in _blocks_of(m))


def _paused(content: Any) -> bool:
    """Whether a final assistant turn is a paused server-tool turn sent back to be continued.

    The `pause_turn` docs say to send the paused response back as it is; models that refuse a
    prefill support server tools, so the API must take that final assistant turn from them. We
    recognise it by its server-tool blocks (`server_tool_use`, `*_tool_result`).
    """
    kinds = [b.get("type") for b in content if isinstance(b, dict)] if isinstance(content, list) else []
    return any(k == "server_tool_use" or (isinstance(k, str) and k.endswith("_tool_result")) for k in kinds)


def _check_message(i: int, message: Any, *, final: bool, prefill: bool) -> None:
    if not isinstance(message, dict):
        raise Invalid(f"messages.{i}: Input should be a valid dictionary")
    role = message.get("role")
    if role not in ("user", "assistant"):
        raise Invalid(f"messages.{i}.role: Input should be 'user' or 'assistant'")
    if "content" not in message:
        raise Invalid(f"messages.{i}.content: Field required")
    content = message["content"]
    if not isinstance(content, str | list):
        raise Invalid(f"messages.{i}.content: Input should be a valid string or a valid list")
    final_assistant = final and role == "assistant"
    if final_assistant and not prefill and not _paused(content):
        raise Invalid(_NO_PREFILL)
    if not content:
        if final_assistant:
            return
        raise Invalid(_EMPTY_CONTENT.format(i=i))
    if isinstance(content, list):
        for j, block in enumerate(content):
            check_block(f"messages.{i}.content.{j}", block, role, f"messages.{i}.content")
    else:
        check_text(f"messages.{i}.content", {"text": content}, "messages")
    last = str(_blocks_of(message)[-1].get("text", ""))
    if final_assistant and last != last.rstrip():
        raise Invalid("messages: final assistant content cannot end with trailing whitespace")


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
                    raise Invalid(_UNEXPECTED_RESULT.format(i=i, j=j, id=block["tool_use_id"]))
            continue
        uses = list(_of_type(blocks, "tool_use"))
        for i, j, block in uses:
            if block["id"] in seen:
                raise Invalid(f"messages.{i}.content.{j}: `tool_use` ids must be unique")
            seen.add(block["id"])
        following = turns[t + 1][1] if t + 1 < len(turns) else []
        answered = {b["tool_use_id"] for _, _, b in _of_type(following, "tool_result")}
        missing = [(i, b["id"]) for i, _, b in uses if b["id"] not in answered]
        if missing:
            ids = ", ".join(m[1] for m in missing)
            raise Invalid(_MISSING_RESULTS.format(i=missing[0][0], ids=ids))
        kinds = [b.get("type") for _, _, b in following]
        if uses and _results_not_first(kinds):
            raise Invalid(_RESULTS_NOT_FIRST.format(i=following[0][0], n=len(uses)))


def _results_not_first(kinds: list[Any]) -> bool:
    first_other = next((n for n, k in enumerate(kinds) if k != "tool_result"), len(kinds))
    return "tool_result" in kinds[first_other:]


def _thinking_on(body: dict[str, Any]) -> str | None:
    config = body.get("thinking")
    if config is None:
        return None
    kind = config.get("type") if isinstance(config, dict) else None
    if kind not in ("enabled", "disabled", "adaptive"):
        raise Invalid("thinking.type: Input should be 'enabled', 'disabled' or 'adaptive'")
    return None if kind == "disabled" else str(kind)


def _check_thinking(body: dict[str, Any], messages: list[dict[str, Any]], endpoint: str) -> None:
    mode = _thinking_on(body)
    if mode is None:
        return
    if mode == "enabled":
        budget = body["thinking"].get("budget_tokens")
        if not isinstance(budget, int) or isinstance(budget, bool):
            raise Invalid("thinking.enabled.budget_tokens: Field required")
        if budget < 1024:
            raise Invalid("thinking.enabled.budget_tokens: Input should be greater than or equal to 1024")
        if endpoint == "messages" and budget >= body["max_tokens"]:
            raise Invalid(_BUDGET)
    choice = body.get("tool_choice")
    if isinstance(choice, dict) and choice.get("type") in ("any", "tool"):
        raise Invalid("Thinking may not be enabled when tool_choice forces tool use.")
    if body.get("temperature", 1) != 1:
        raise Invalid("`temperature` may only be set to 1 when thinking is enabled.")
    for key in ("top_p", "top_k"):
        if key in body:
            raise Invalid(f"`{key}` must be unset when thinking is enabled.")
    turns = _turns(messages)
    if len(turns) < 2 or turns[-1][0] != "user" or turns[-2][0] != "assistant":
        return
    if not any(True for _ in _of_type(turns[-1][1], "tool_result")):
        return
    i, _, first = turns[-2][1][0] if turns[-2][1] else (0, 0, {"type": None})
    if first.get("type") not in ("thinking", "redacted_thinking"):
        raise Invalid(_THINKING_FIRST.format(i=i, found=first.get("type")))


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
        raise Invalid(_TTL_ORDER)
    found = len(controls)
    if found > _MAX_BREAKPOINTS:
        raise Invalid(f"A maximum of {_MAX_BREAKPOINTS} blocks with cache_control may be provided. Found {found}.")
