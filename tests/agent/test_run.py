"""The tool loop end to end: the real SDK over loopback HTTP against agentkit.testing's server."""

from __future__ import annotations

import anyio
import pytest

from agentkit import Agent, RunContext, ToolError, tool
from agentkit.testing import MessagesServer, Reply, Request, text, tool_use

pytestmark = pytest.mark.anyio


async def test_text_answer_gives_output_history_and_usage(messages_server: MessagesServer) -> None:
    messages_server.script(Reply.text("Paris."))
    agent = Agent(model="claude-sonnet-4-6", client=messages_server.client())

    result = await agent.run("Capital of France?")

    assert result.output == "Paris."
    assert result.stop_reason == "end_turn"
    assert result.turns == 1
    assert result.messages == [
        {"role": "user", "content": "Capital of France?"},
        {"role": "assistant", "content": [{"type": "text", "text": "Paris."}]},
    ]
    sent = messages_server.requests[0].body
    assert sent["model"] == "claude-sonnet-4-6"
    assert result.usage.requests == 1
    assert result.usage.input_tokens > 0
    assert result.usage.output_tokens > 0


def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


async def test_tool_loop_runs_the_tool_and_feeds_the_result_back(messages_server: MessagesServer) -> None:
    messages_server.script(Reply(content=[text("Let me add."), tool_use("add", {"a": 2, "b": 3})]), Reply.text("5"))
    agent = Agent(model="claude-sonnet-4-6", tools=[add], client=messages_server.client())

    result = await agent.run("2+3?")

    assert result.output == "5"
    assert result.turns == 2
    assert result.usage.requests == 2
    first, second = messages_server.requests
    assert first.body["tools"] == [
        {
            "name": "add",
            "description": "Add two numbers.",
            "input_schema": {
                "type": "object",
                "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
                "required": ["a", "b"],
                "additionalProperties": False,
            },
        }
    ]
    [result_block] = second.tool_results
    assert result_block["content"] == "5"
    assert "is_error" not in result_block
    assert [m["role"] for m in result.messages] == ["user", "assistant", "user", "assistant"]


async def test_parallel_tool_calls_run_concurrently_and_answer_in_one_message_in_order(
    messages_server: MessagesServer,
) -> None:
    both_started = anyio.Event()
    started: list[str] = []

    async def fetch(name: str) -> str:
        """Fetch a page."""
        started.append(name)
        if len(started) == 2:
            both_started.set()
        with anyio.fail_after(2):  # sequential execution would wait here forever
            await both_started.wait()
        return f"page {name}"

    messages_server.script(
        Reply(content=[tool_use("fetch", {"name": "a"}), tool_use("fetch", {"name": "b"})]),
        Reply.text("done"),
    )
    agent = Agent(model="claude-sonnet-4-6", tools=[fetch], client=messages_server.client())

    result = await agent.run("fetch a and b")

    assert result.output == "done"
    tool_turn = messages_server.requests[1].messages[-1]
    assert tool_turn["role"] == "user"
    assert [block["content"] for block in tool_turn["content"]] == ["page a", "page b"]
    calls = messages_server.requests[0]  # the ids the model used, answered in the same order
    assert [b["tool_use_id"] for b in tool_turn["content"]] == [
        b["id"] for b in result.messages[1]["content"] if b["type"] == "tool_use"
    ]
    assert calls.path == "/v1/messages"


async def test_invalid_arguments_go_back_with_field_errors_and_the_model_corrects_itself(
    messages_server: MessagesServer,
) -> None:
    calls: list[tuple[int, int]] = []

    def multiply(a: int, b: int) -> int:
        """Multiply two numbers."""
        calls.append((a, b))
        return a * b

    def model(request: Request) -> Reply:
        results = request.tool_results
        if not results:
            return Reply(content=[tool_use("multiply", {"a": "two", "b": 3})])
        if results[0].get("is_error"):
            return Reply(content=[tool_use("multiply", {"a": 2, "b": 3})])
        return Reply.text(f"= {results[0]['content']}")

    messages_server.respond_with(model)
    agent = Agent(model="claude-sonnet-4-6", tools=[multiply], client=messages_server.client())

    result = await agent.run("2*3")

    assert result.output == "= 6"
    assert calls == [(2, 3)]  # the invalid call never reached the function
    error = messages_server.requests[1].tool_results[0]
    assert error["is_error"] is True
    assert "a: Input should be a valid integer" in error["content"]


async def test_a_failing_tool_becomes_an_error_result_and_the_run_goes_on(
    messages_server: MessagesServer,
) -> None:
    def lookup(order_id: str) -> str:
        """Look up an order."""
        if order_id == "42":
            raise ToolError("Order 42 does not exist; ask the customer for the number on the receipt.")
        raise ValueError("database down")

    messages_server.script(
        Reply(content=[tool_use("lookup", {"order_id": "42"}), tool_use("lookup", {"order_id": "7"})]),
        Reply.text("Sorry."),
    )
    agent = Agent(model="claude-sonnet-4-6", tools=[lookup], client=messages_server.client())

    result = await agent.run("Where are my orders?")

    assert result.output == "Sorry."
    first, second = messages_server.requests[1].tool_results
    assert first == {
        "type": "tool_result",
        "tool_use_id": first["tool_use_id"],
        "content": "Order 42 does not exist; ask the customer for the number on the receipt.",
        "is_error": True,
    }
    assert second["is_error"] is True
    assert "ValueError: database down" in second["content"]


async def test_a_hung_tool_times_out_into_an_error_result(messages_server: MessagesServer) -> None:
    @tool(timeout=0.05)
    async def slow() -> str:
        """Never finishes."""
        await anyio.sleep(30)
        return "late"

    messages_server.script(Reply(content=[tool_use("slow", {})]), Reply.text("gave up"))
    agent = Agent(model="claude-sonnet-4-6", tools=[slow], client=messages_server.client())

    with anyio.fail_after(5):
        result = await agent.run("go")

    assert result.output == "gave up"
    [error] = messages_server.requests[1].tool_results
    assert error["is_error"] is True
    assert "timed out" in error["content"]


async def test_an_unknown_tool_name_is_answered_with_an_error(messages_server: MessagesServer) -> None:
    messages_server.script(Reply(content=[tool_use("teleport", {})]), Reply.text("ok"))
    agent = Agent(model="claude-sonnet-4-6", tools=[add], client=messages_server.client())

    await agent.run("go")

    [error] = messages_server.requests[1].tool_results
    assert error["is_error"] is True
    assert error["content"] == "Unknown tool 'teleport'. Available tools: add."


async def test_tools_reach_deps_usage_and_the_agent_through_run_context(
    messages_server: MessagesServer,
) -> None:
    seen: dict[str, object] = {}

    async def whoami(ctx: RunContext[dict[str, str]], shout: bool = False) -> str:
        """Say who the user is."""
        seen.update(agent=ctx.agent, requests=ctx.usage.requests, call=ctx.tool_call_id, turn=ctx.turn)
        name = ctx.deps["user"]
        return name.upper() if shout else name

    messages_server.script(Reply(content=[tool_use("whoami", {"shout": True}, id="toolu_1")]), Reply.text("hi ADA"))
    agent = Agent(model="claude-sonnet-4-6", tools=[whoami], client=messages_server.client())

    result = await agent.run("who am I?", deps={"user": "ada"})

    assert result.output == "hi ADA"
    assert messages_server.requests[1].tool_results[0]["content"] == "ADA"
    assert seen == {"agent": agent, "requests": 1, "call": "toolu_1", "turn": 1}
    assert "ctx" not in messages_server.requests[0].body["tools"][0]["input_schema"]["properties"]


async def test_history_continues_a_conversation(messages_server: MessagesServer) -> None:
    messages_server.script(Reply.text("Hi Ada."), Reply.text("You are Ada."))
    agent = Agent(model="claude-sonnet-4-6", client=messages_server.client())

    first = await agent.run("I am Ada.")
    second = await agent.run("Who am I?", history=first.messages)

    assert second.output == "You are Ada."
    assert messages_server.requests[1].messages == [*first.messages, {"role": "user", "content": "Who am I?"}]
    assert len(first.messages) == 2  # the caller's history is not mutated


async def test_a_prompt_can_carry_images_and_documents(messages_server: MessagesServer) -> None:
    pixel = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
    pdf = "JVBERi0xLjQKJcOkw7zDtsOfCjIgMCBvYmoKPDwvTGVuZ3RoIDMgMCBSPj4Kc3RyZWFtCg=="
    prompt = [
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": pixel}},
        {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": pdf}},
        {"type": "text", "text": "Describe both."},
    ]
    messages_server.script(Reply.text("A pixel and a PDF."))
    agent = Agent(model="claude-sonnet-4-6", client=messages_server.client())

    result = await agent.run(prompt)

    assert result.output == "A pixel and a PDF."
    assert messages_server.requests[0].messages[0] == {"role": "user", "content": prompt}


async def test_request_params_reach_the_api_including_fields_the_sdk_signature_dropped(
    messages_server: MessagesServer,
) -> None:
    messages_server.script(Reply.text("ok"))
    agent = Agent(
        model="claude-sonnet-4-6",
        request_params={"temperature": 0.2, "stop_sequences": ["END"], "metadata": {"user_id": "u1"}},
        client=messages_server.client(),
    )

    await agent.run("hi")

    body = messages_server.requests[0].body
    assert body["temperature"] == 0.2
    assert body["stop_sequences"] == ["END"]
    assert body["metadata"] == {"user_id": "u1"}


async def test_without_a_client_one_is_made_from_the_environment(
    messages_server: MessagesServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_BASE_URL", messages_server.url)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-from-env")
    monkeypatch.delenv("ANTHROPIC_AUTH_TOKEN", raising=False)
    messages_server.script(Reply.text("ok"))

    agent = Agent(model="claude-sonnet-4-6")
    result = await agent.run("hi")
    await agent.aclose()

    assert result.output == "ok"
    headers = messages_server.requests[0].headers
    assert "sk-ant-from-env" in (headers.get("x-api-key", "") + headers.get("authorization", ""))
