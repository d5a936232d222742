"""`validate` rejects what the Messages API rejects, in its words, and the server answers with a 400."""

from __future__ import annotations

import inspect
from typing import Any

import anthropic
import pytest
from anthropic.resources.beta.messages import AsyncMessages as AsyncBetaMessages
from anthropic.resources.messages import AsyncMessages

from agentkit.testing import (
    MessagesServer,
    Reply,
    estimate_tokens,
    redacted_thinking,
    text,
    thinking,
    tool_use,
    validate,
)
from agentkit.testing._tokens import PromptCache
from agentkit.testing._validate import BETA_FIELDS, COUNT_TOKENS_FIELDS, MESSAGES_FIELDS

MODEL = "claude-sonnet-5"
PREFILL_MODEL = "claude-haiku-4-5"  # a model that still accepts an assistant prefill
ADD = {"name": "add", "input_schema": {"type": "object", "properties": {"a": {"type": "integer"}}}}
CALL = tool_use("add", {"a": 1}, id="toolu_1")
CALL2 = tool_use("add", {"a": 2}, id="toolu_2")
RESULT = {"type": "tool_result", "tool_use_id": "toolu_1", "content": "2"}
RESULT2 = {"type": "tool_result", "tool_use_id": "toolu_2", "content": "3"}
IMAGE = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}}
THOUGHT = thinking("I should add.")
ENABLED = {"type": "enabled", "budget_tokens": 1024}
CACHED = {"type": "ephemeral"}


def user(content: Any) -> dict[str, Any]:
    return {"role": "user", "content": content}


def assistant(content: Any) -> dict[str, Any]:
    return {"role": "assistant", "content": content}


def body(*messages: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"model": MODEL, "max_tokens": 2048, "messages": list(messages) or [user("hi")], **fields}


def without(key: str) -> dict[str, Any]:
    return {k: v for k, v in body().items() if k != key}


HUGE = body(system="word " * 200_000)
NEAR = body(system="word " * 150_000, max_tokens=60_000)  # fits alone, not with room for the answer
JPEG = {"type": "image", "source": {"type": "base64", "media_type": "image/jpeg", "data": "/9j/4AAQSkZJRg=="}}
WEBP = {"type": "image", "source": {"type": "base64", "media_type": "image/webp", "data": "UklGRiQAAABXRUJQVlA4IA=="}}
PDF = {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0xLjQK"}}


def source(block: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {**block, "source": {**block["source"], **fields}}


def failed(**fields: Any) -> dict[str, Any]:
    return {**RESULT, **fields}


LOOP = (user("add 1"), assistant([text("Adding."), CALL]), user([RESULT]))

INVALID: dict[str, tuple[dict[str, Any], str]] = {
    "unknown field": (body(foo=1), "foo: Extra inputs are not permitted"),
    "no model": (without("model"), "model: Field required"),
    "no max_tokens": (without("max_tokens"), "max_tokens: Field required"),
    "no messages": (without("messages"), "messages: Field required"),
    "negative max_tokens": (body(max_tokens=-1), "max_tokens: Input should be greater than or equal to 0"),
    "max_tokens over the limit": (
        body(max_tokens=100_000),
        f"max_tokens: 100000 > 64000, which is the maximum allowed number of output tokens for {MODEL}",
    ),
    "messages not a list": ({**body(), "messages": "hi"}, "messages: Input should be a valid list"),
    "no message": ({**body(), "messages": []}, "messages: at least one message is required"),
    "system role": (
        body({"role": "system", "content": "x"}),
        "messages.0.role: Input should be 'user' or 'assistant'",
    ),
    "unknown block": (
        body(user([{"type": "video"}])),
        "messages.0.content.0: Input tag 'video' found using 'type'",
    ),
    "empty text": (body(user([text("")])), "messages: text content blocks must be non-empty"),
    "blank text": (body(user("  \n")), "messages: text content blocks must contain non-whitespace text"),
    "empty message": (
        body(user([]), assistant("ok"), user("hi")),
        "messages.0: all messages must have non-empty content except for the optional final assistant message",
    ),
    "prefill ending in whitespace": (
        body(user("hi"), assistant("The answer is "), model=PREFILL_MODEL),
        "messages: final assistant content cannot end with trailing whitespace",
    ),
    "tool_use without result": (
        body(user("add"), assistant([CALL]), user("well?"), tools=[ADD]),
        "messages.1: `tool_use` ids were found without `tool_result` blocks immediately after: toolu_1. "
        "Each `tool_use` block must have a corresponding `tool_result` block in the next message.",
    ),
    "tool_use as the last message": (
        body(user("add"), assistant([CALL]), tools=[ADD], model=PREFILL_MODEL),
        "messages.1: `tool_use` ids were found",
    ),
    "one of two results missing": (
        body(user("add"), assistant([CALL, CALL2]), user([RESULT]), tools=[ADD]),
        "messages.1: `tool_use` ids were found without `tool_result` blocks immediately after: toolu_2.",
    ),
    "result without tool_use": (
        body(*LOOP[:2], user([RESULT, {**RESULT, "tool_use_id": "toolu_9"}]), tools=[ADD]),
        "messages.2.content.1: unexpected `tool_use_id` found in `tool_result` blocks: toolu_9. "
        "Each `tool_result` block must have a corresponding `tool_use` block in the previous message.",
    ),
    "result after a text turn": (
        body(user("add"), assistant([CALL]), user([RESULT]), assistant("2"), user([RESULT]), tools=[ADD]),
        "messages.4.content.0: unexpected `tool_use_id` found in `tool_result` blocks: toolu_1.",
    ),
    "results not first": (
        body(*LOOP[:2], user([text("here:"), RESULT]), tools=[ADD]),
        "messages.2: Did not find 1 `tool_result` block(s) at the beginning of this message.",
    ),
    "duplicate tool_use ids": (
        body(*LOOP, assistant([CALL]), user([RESULT]), tools=[ADD]),
        "messages.3.content.0: `tool_use` ids must be unique",
    ),
    "tool_use id pattern": (
        body(
            user("add"), assistant([{**CALL, "id": "call.1"}]), user([{**RESULT, "tool_use_id": "call.1"}]), tools=[ADD]
        ),
        "messages.1.content.0.tool_use.id: String should match pattern '^[a-zA-Z0-9_-]+$'",
    ),
    "tool_result from the assistant": (
        body(user("hi"), assistant([RESULT]), user("hi")),
        "messages.1.content.0: `tool_result` blocks are not allowed in `assistant` messages",
    ),
    "tool name pattern": (
        body(tools=[{**ADD, "name": "math.add"}]),
        "tools.0.custom.name: String should match pattern '^[a-zA-Z0-9_-]{1,128}$'",
    ),
    "tool name too long": (
        body(tools=[{**ADD, "name": "a" * 129}]),
        "tools.0.custom.name: String should match",
    ),
    "duplicate tool names": (body(tools=[ADD, ADD]), "tools: Tool names must be unique."),
    "no input_schema": (body(tools=[{"name": "add"}]), "tools.0.custom.input_schema: Field required"),
    "input_schema not an object": (
        body(tools=[{**ADD, "input_schema": {"type": "string"}}]),
        "tools.0.custom.input_schema.type: Input should be 'object'",
    ),
    "tool_choice names an unknown tool": (
        body(tools=[ADD], tool_choice={"type": "tool", "name": "mul"}),
        "tool_choice.tool.name: tool `mul` was not found in `tools`",
    ),
    "tool_choice without tools": (
        body(tool_choice={"type": "any"}),
        "tool_choice may only be specified while providing tools.",
    ),
    "five breakpoints": (
        body(
            user([{**text(f"part {n}"), "cache_control": CACHED} for n in range(3)]),
            system=[{**text("sys"), "cache_control": CACHED}],
            tools=[{**ADD, "cache_control": CACHED}],
        ),
        "A maximum of 4 blocks with cache_control may be provided. Found 5.",
    ),
    "top-level cache_control counts": (
        body(user([{**text(f"part {n}"), "cache_control": CACHED} for n in range(4)]), cache_control=CACHED),
        "A maximum of 4 blocks with cache_control may be provided. Found 5.",
    ),
    "thinking with a forced tool": (
        body(tools=[ADD], tool_choice={"type": "tool", "name": "add"}, thinking=ENABLED),
        "Thinking may not be enabled when tool_choice forces tool use.",
    ),
    "adaptive thinking with any tool": (
        body(tools=[ADD], tool_choice={"type": "any"}, thinking={"type": "adaptive"}),
        "Thinking may not be enabled when tool_choice forces tool use.",
    ),
    "small budget": (
        body(thinking={"type": "enabled", "budget_tokens": 1000}),
        "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024",
    ),
    "budget not below max_tokens": (
        body(max_tokens=1024, thinking=ENABLED),
        "`max_tokens` must be greater than `thinking.budget_tokens`.",
    ),
    "thinking dropped from the tool loop": (
        body(*LOOP, tools=[ADD], thinking=ENABLED),
        "messages.1.content.0.type: Expected `thinking` or `redacted_thinking`, but found `text`. "
        "When `thinking` is enabled, a final `assistant` message must start with a thinking block",
    ),
    "edited thinking": (
        body(user("add"), assistant([{**THOUGHT, "thinking": "I should subtract."}, CALL]), user([RESULT])),
        "messages.1.content.0: Invalid `signature` in `thinking` block",
    ),
    "thinking without signature": (
        body(user("add"), assistant([{"type": "thinking", "thinking": "x"}, CALL]), user([RESULT])),
        "messages.1.content.0.thinking.signature: Field required",
    ),
    "temperature with thinking": (
        body(thinking=ENABLED, temperature=0.2),
        "`temperature` may only be set to 1 when thinking is enabled.",
    ),
    "empty system block": (body(system=[text("")]), "system: text content blocks must be non-empty"),
    "system image": (body(system=[IMAGE]), "system.0.type: Input should be 'text'"),
    "prompt too long": (HUGE, f"prompt is too long: {estimate_tokens(HUGE)} tokens > 200000 maximum"),
    "prompt plus max_tokens over the window": (
        NEAR,
        f"input length and `max_tokens` exceed context limit: {estimate_tokens(NEAR)} + 60000 > 200000, "
        "decrease input length or `max_tokens` and try again",
    ),
    "whitespace stop sequence": (
        body(stop_sequences=["END", "\n"]),
        "stop_sequences: each stop sequence must contain non-whitespace",
    ),
    "empty stop sequence": (body(stop_sequences=[""]), "stop_sequences: each stop sequence must contain"),
    "stop sequence not a string": (body(stop_sequences=[1]), "stop_sequences.0: Input should be a valid string"),
    "empty error result": (
        body(*LOOP[:2], user([failed(content="", is_error=True)]), tools=[ADD]),
        "messages.2.content.0.tool_result: content cannot be empty if `is_error` is true",
    ),
    "error result without content": (
        body(*LOOP[:2], user([{"type": "tool_result", "tool_use_id": "toolu_1", "is_error": True}]), tools=[ADD]),
        "messages.2.content.0.tool_result: content cannot be empty if `is_error` is true",
    ),
    "error result with no blocks": (
        body(*LOOP[:2], user([failed(content=[], is_error=True)]), tools=[ADD]),
        "messages.2.content.0.tool_result: content cannot be empty if `is_error` is true",
    ),
    "tool blocks without tools": (
        body(*LOOP),
        "Requests which include `tool_use` or `tool_result` blocks must define tools.",
    ),
    "tool blocks with an empty tools list": (body(*LOOP, tools=[]), "Requests which include `tool_use`"),
    "image from the assistant": (
        body(user("draw"), assistant([text("Here:"), IMAGE]), user("thanks")),
        "messages.1.content: 'image' blocks are not permitted within assistant turns",
    ),
    "document from the assistant": (
        body(user("write"), assistant([PDF]), user("thanks")),
        "messages.1.content: 'document' blocks are not permitted within assistant turns",
    ),
    "unknown image media type": (
        body(user([text("look"), source(IMAGE, media_type="image/bmp")])),
        "messages.0.content.1.image.source.base64.media_type: Input should be 'image/jpeg', 'image/png', "
        "'image/gif' or 'image/webp'",
    ),
    "png data sent as jpeg": (
        body(user([source(IMAGE, media_type="image/jpeg")])),
        "messages.0.content.0.image.source.base64.data: Image does not match the provided media type image/jpeg",
    ),
    "unknown image media type in a tool result": (
        body(*LOOP[:2], user([failed(content=[source(IMAGE, media_type="image/tiff")])]), tools=[ADD]),
        "messages.2.content.0.tool_result.content.0.image.source.base64.media_type: Input should be 'image/jpeg'",
    ),
    "pdf with another media type": (
        body(user([source(PDF, media_type="application/msword")])),
        "messages.0.content.0.document.source.base64.media_type: Input should be 'application/pdf'",
    ),
    "text document with another media type": (
        body(user([{"type": "document", "source": {"type": "text", "media_type": "text/html", "data": "<p>"}}])),
        "messages.0.content.0.document.source.text.media_type: Input should be 'text/plain'",
    ),
    "unknown image source": (
        body(user([{"type": "image", "source": {"type": "path", "path": "/tmp/x.png"}}])),
        "messages.0.content.0.image.source: Input tag 'path' found using 'type' does not match any of the "
        "expected tags: 'base64', 'url', 'file'",
    ),
    "prefill on a model that refuses it": (
        body(user("Pick A or B"), assistant("The answer is (")),
        "This model does not support assistant message prefill. The conversation must end with a user message.",
    ),
    "prefill on Opus 4.7 through Bedrock": (
        body(user("Pick A or B"), assistant("The answer is ("), model="anthropic.claude-opus-4-7-v1:0"),
        "This model does not support assistant message prefill.",
    ),
    "prefill on Opus 4.7 through Vertex AI": (
        body(user("Pick A or B"), assistant("The answer is ("), model="claude-opus-4-7@20251001"),
        "This model does not support assistant message prefill.",
    ),
    "adaptive thinking dropped from the tool loop": (
        body(*LOOP, tools=[ADD], thinking={"type": "adaptive"}),
        "messages.1.content.0.type: Expected `thinking` or `redacted_thinking`, but found `text`.",
    ),
}

VALID: dict[str, dict[str, Any]] = {
    "one user string": body(),
    "blocks and an image": body(user([text("What is this?"), IMAGE])),
    "a tool loop": body(*LOOP, tools=[ADD]),
    "results first, then text": body(*LOOP[:2], user([RESULT, text("continue")]), tools=[ADD]),
    "parallel calls, one result turn": body(
        user("add"), assistant([CALL, CALL2]), user([RESULT2, RESULT]), tools=[ADD]
    ),
    "results over consecutive user messages": body(
        user("add"), assistant([CALL, CALL2]), user([RESULT]), user([RESULT2]), tools=[ADD]
    ),
    "consecutive same-role messages": body(user("a"), user("b"), assistant("c"), assistant("d"), user("e")),
    "assistant first": body(assistant("Hello! How can I help?"), user("hi")),
    "prefill": body(user("Pick A or B"), assistant("The answer is ("), model=PREFILL_MODEL),
    "empty final assistant": body(user("hi"), assistant(""), model=PREFILL_MODEL),
    "thinking tool loop": body(user("add"), assistant([THOUGHT, CALL]), user([RESULT]), tools=[ADD], thinking=ENABLED),
    "redacted thinking first": body(
        user("add"), assistant([redacted_thinking(), CALL]), user([RESULT]), tools=[ADD], thinking=ENABLED
    ),
    "thinking with auto tool_choice": body(tools=[ADD], tool_choice={"type": "auto"}, thinking=ENABLED),
    "four breakpoints": body(
        user([{**text(f"part {n}"), "cache_control": CACHED} for n in range(3)]),
        tools=[{**ADD, "cache_control": {"type": "ephemeral", "ttl": "1h"}}],
    ),
    "server tool blocks": body(
        user("search"),
        assistant(
            [
                {
                    "type": "server_tool_use",
                    "id": "srvtoolu_1",
                    "name": "web_search",
                    "input": {"query": "x"},
                },
                {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_1", "content": []},
                text("Found it."),
            ]
        ),
        user("thanks"),
        tools=[{"type": "web_search_20250305", "name": "web_search"}, ADD],
    ),
    "nested tool_result content": body(
        user("look"),
        assistant([CALL]),
        user([{**RESULT, "content": [text("see"), IMAGE], "is_error": False}]),
        tools=[ADD],
    ),
    "sampling fields via extra_body": body(temperature=0.2, top_k=5, top_p=0.9),
    "system blocks": body(system=[text("You are terse."), {**text("Policy."), "cache_control": CACHED}]),
    "max_tokens zero": body(max_tokens=0),  # the SDK documents it: pre-warming the cache
    "stop sequences": body(stop_sequences=["END", " stop"]),
    "a non-error empty tool result": body(*LOOP[:2], user([failed(content="")]), tools=[ADD]),
    "jpeg, webp, url and file images; pdf, text and file documents": body(
        user(
            [
                JPEG,
                WEBP,
                {"type": "image", "source": {"type": "url", "url": "https://example.com/a.png"}},
                {"type": "image", "source": {"type": "file", "file_id": "file_011"}},
                PDF,
                {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "Terms."}},
                {"type": "document", "source": {"type": "file", "file_id": "file_012"}},
                text("Compare them."),
            ]
        )
    ),
    "undecodable image data is left to the real API": body(user([source(IMAGE, data="not base64!")])),
    "prefill on Haiku 4.5 through Bedrock": body(
        user("Pick A or B"), assistant("The answer is ("), model="us.anthropic.claude-haiku-4-5-20251001-v1:0"
    ),
    "adaptive thinking tool loop": body(
        user("add"), assistant([THOUGHT, CALL]), user([RESULT]), tools=[ADD], thinking={"type": "adaptive"}
    ),
    "a paused server-tool turn sent back on a model without prefill": body(
        user("search"),
        assistant(
            [
                text("Searching."),
                {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {"query": "x"}},
                {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_1", "content": []},
            ]
        ),
        tools=[{"type": "web_search_20250305", "name": "web_search"}],
    ),
    "an image in a tool result": body(*LOOP[:2], user([failed(content=[JPEG])]), tools=[ADD]),
}


@pytest.mark.parametrize(("case", "expected"), [(k, v[1]) for k, v in INVALID.items()], ids=list(INVALID))
def test_validate_rejects_in_the_apis_words(case: str, expected: str) -> None:
    message = validate(INVALID[case][0])
    assert message is not None
    assert message.startswith(expected), message


@pytest.mark.parametrize("case", list(VALID))
def test_validate_accepts_what_the_api_accepts(case: str) -> None:
    assert validate(VALID[case]) is None


def test_a_prompt_and_max_tokens_may_fill_the_window_exactly() -> None:
    request = body(max_tokens=100)
    window = estimate_tokens(request) + 100
    assert validate(request, context_window=window) is None
    assert validate(request, context_window=window - 1) == (
        f"input length and `max_tokens` exceed context limit: {window - 100} + 100 > {window - 1}, "
        "decrease input length or `max_tokens` and try again"
    )
    counted = without("max_tokens")  # count_tokens has no max_tokens: only the prompt must fit
    assert validate(counted, endpoint="count_tokens", context_window=estimate_tokens(counted)) is None


NO_PREFILL = "This model does not support assistant message prefill. The conversation must end with a user message."


def test_prefill_is_refused_by_models_without_it() -> None:
    prefilled = VALID["prefill"]
    assert validate(prefilled) is None
    assert validate(prefilled, prefill=False) == NO_PREFILL  # the server-wide switch: every model
    assert validate(VALID["a tool loop"], prefill=False) is None
    refused = INVALID["prefill on a model that refuses it"][0]
    assert validate(refused) == NO_PREFILL
    assert validate(refused, prefill=True) is None  # the switch the other way: every model accepts


@pytest.mark.parametrize(
    ("model", "refuses"),
    [
        ("claude-opus-4-5", False),
        ("claude-opus-4-5-20251101", False),
        ("claude-haiku-4-5", False),
        ("claude-3-7-sonnet-20250219", False),
        ("claude-opus-4-6", True),
        ("claude-opus-4-7", True),
        ("claude-opus-4-8", True),
        ("claude-opus-5", True),
        ("claude-sonnet-5", True),
        ("claude-haiku-5", True),
        ("anthropic.claude-opus-4-7-v1:0", True),
        ("us.anthropic.claude-opus-4-7-v1:0", True),
        ("us.anthropic.claude-haiku-4-5-20251001-v1:0", False),
        ("claude-opus-4-7@20251001", True),
        ("claude-haiku-4-5@20251001", False),
        ("llama-3.1-8b", False),  # a model the table does not know: the server-wide switch decides
    ],
)
def test_the_server_refuses_prefill_per_model_in_every_id_form(model: str, refuses: bool) -> None:
    prefilled = {**VALID["prefill"], "model": model}
    assert validate(prefilled) == (NO_PREFILL if refuses else None)


def test_the_cache_minimum_reads_bedrock_and_vertex_ids() -> None:
    cache = PromptCache()
    assert cache.minimum("anthropic.claude-opus-4-7-v1:0") == cache.minimum("claude-opus-4-7") == 2048
    assert cache.minimum("claude-haiku-4-5@20251001") == cache.minimum("claude-haiku-4-5") == 4096
    assert PromptCache({"claude-opus-4-7": 100}).minimum("us.anthropic.claude-opus-4-7-v1:0") == 100
    assert PromptCache({"claude-opus-4-7": 100}).minimum("claude-opus-4-7@20251001") == 100


def test_count_tokens_needs_no_max_tokens_and_takes_no_stream() -> None:
    counted = without("max_tokens")
    assert validate(counted, endpoint="count_tokens") is None
    assert validate(counted) == "max_tokens: Field required"
    assert validate({**counted, "stream": True}, endpoint="count_tokens") == "stream: Extra inputs are not permitted"


def _body_keys(method: Any, *, dropped: set[str]) -> set[str]:
    request_options = {"extra_headers", "extra_query", "extra_body", "timeout", "self"}
    return set(inspect.signature(method).parameters) - request_options - dropped


def test_the_known_fields_are_the_sdks() -> None:
    # user_profile_id and workspace_id are sent as headers; output_format becomes output_config.
    headers = {"user_profile_id", "workspace_id"}
    assert _body_keys(AsyncMessages.create, dropped=headers) == MESSAGES_FIELDS - {
        "temperature",
        "top_p",
        "top_k",
    }
    assert _body_keys(AsyncMessages.count_tokens, dropped=headers | {"output_format"}) == COUNT_TOKENS_FIELDS
    beta = _body_keys(AsyncBetaMessages.create, dropped=headers | {"betas"})
    assert beta == MESSAGES_FIELDS - {"temperature", "top_p", "top_k"} | BETA_FIELDS


def test_beta_fields_are_accepted_only_from_the_beta_client() -> None:
    edits = body(context_management={"edits": [{"type": "clear_tool_uses_20250919"}]})
    assert validate(edits, beta=True) is None
    assert validate(edits) == "context_management: Extra inputs are not permitted"


@pytest.mark.agentkit_allow_rejected
@pytest.mark.anyio
@pytest.mark.parametrize("case", list(INVALID))
async def test_the_server_answers_a_bad_request_with_400(messages_server: MessagesServer, case: str) -> None:
    messages_server.script(Reply.text("never sent"))
    client = messages_server.client()
    with pytest.raises(anthropic.BadRequestError) as caught:
        await client.post("/v1/messages", body=INVALID[case][0], cast_to=anthropic.types.Message)
    assert caught.value.type == "invalid_request_error"
    assert caught.value.api_message is not None
    assert caught.value.api_message.startswith(INVALID[case][1])
    assert len(messages_server.requests) == 1  # a 400 is not retried
    [(request, message)] = messages_server.rejected
    assert request is messages_server.requests[0]
    assert message == caught.value.api_message


@pytest.mark.anyio
async def test_valid_requests_reach_the_script(messages_server: MessagesServer) -> None:
    client = messages_server.client()
    messages_server.respond_with(lambda request: Reply.text("ok"))
    for case in VALID:
        await client.post("/v1/messages", body=VALID[case], cast_to=anthropic.types.Message)
    assert messages_server.rejected == []


@pytest.mark.agentkit_allow_rejected
@pytest.mark.anyio
async def test_a_server_without_prefill_refuses_a_final_assistant_message() -> None:
    with (
        MessagesServer([Reply.text("B)")], prefill=False) as server,
        pytest.raises(anthropic.BadRequestError, match="does not support assistant message prefill"),
    ):
        await server.client().messages.create(**VALID["prefill"])
    assert len(server.rejected) == 1


@pytest.mark.agentkit_allow_rejected
@pytest.mark.anyio
async def test_count_tokens_requests_are_validated(messages_server: MessagesServer) -> None:
    with pytest.raises(anthropic.BadRequestError, match="messages: at least one message is required"):
        await messages_server.client().messages.count_tokens(model=MODEL, messages=[])
    assert len(messages_server.count_requests) == 1
    assert len(messages_server.rejected) == 1


@pytest.mark.anyio
async def test_the_beta_client_may_send_beta_fields(messages_server: MessagesServer) -> None:
    messages_server.script(Reply.text("ok"))
    message = await messages_server.client().beta.messages.create(
        model=MODEL,
        max_tokens=10,
        messages=[user("hi")],
        betas=["context-management-2025-06-27"],
        context_management={"edits": [{"type": "clear_tool_uses_20250919"}]},
    )
    assert message.content[0].to_dict() == {"type": "text", "text": "ok"}
    assert messages_server.requests[0].path == "/v1/messages"
