"""Issue 13: requests the API would reject, and wrong or lost results, from public-API use.

Each test drives the real SDK against the offline server, whose validator fails the test on any
request the real API would reject (the `messages_server` fixture)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from agentkit import (
    Agent,
    ModelCallStarted,
    Retrying,
    SQLiteSessionStore,
    TextDelta,
    ToolCallFinished,
    ToolCallReady,
    ToolDefinitionError,
    UsageLimitExceeded,
    UsageLimits,
    tool,
)
from agentkit.testing import MessagesServer, Reply, Request, text, thinking, tool_use

pytestmark = pytest.mark.anyio


class Contact(BaseModel):
    name: str
    email: str


@tool
def lookup(q: str) -> str:
    """Look something up."""
    return f"found {q}"


def test_a_tool_named_like_the_output_tool_is_refused_when_the_agent_is_built() -> None:
    @tool(name="final_result")
    def clash(x: int) -> int:
        """Clash."""
        return x

    with pytest.raises(ToolDefinitionError, match="final_result"):
        Agent(model="m", tools=[clash], output_type=Contact)


async def test_thinking_in_request_params_is_seen_by_the_output_mode(messages_server: MessagesServer) -> None:
    answer = {"name": "Ada", "email": "ada@example.com"}
    messages_server.script(Reply(content=[thinking("Let me see."), tool_use("final_result", answer)]))
    agent = Agent(
        model="claude-sonnet-4-6",
        output_type=Contact,
        max_tokens=2048,
        request_params={"thinking": {"type": "enabled", "budget_tokens": 1024}},
        client=messages_server.client(),
    )

    result = await agent.run("Ada, ada@example.com")

    assert result.output == Contact(**answer)
    assert "tool_choice" not in messages_server.requests[0].body  # forced tool_choice + thinking is a 400


async def test_usage_limits_never_push_max_tokens_below_the_thinking_budget(messages_server: MessagesServer) -> None:
    def model(request: Request) -> Reply:
        return Reply(content=[thinking(f"step {len(request.messages)}"), tool_use("lookup", {"q": "x"})])

    messages_server.respond_with(model)
    agent = Agent(
        model="claude-sonnet-4-6",
        tools=[lookup],
        max_tokens=4096,
        thinking={"type": "enabled", "budget_tokens": 1024},
        usage_limits=UsageLimits(output_tokens=1100),
        client=messages_server.client(),
    )

    with pytest.raises(UsageLimitExceeded, match="budget_tokens=1024"):
        await agent.run("Go.")
    assert all(r.body["max_tokens"] > 1024 for r in messages_server.requests)


async def test_whitespace_only_text_beside_a_tool_call_is_not_sent_back(messages_server: MessagesServer) -> None:
    messages_server.script(Reply(content=[text("\n\n"), tool_use("lookup", {"q": "a"})]), Reply.text("Done."))
    agent = Agent(model="claude-haiku-4-5", tools=[lookup], client=messages_server.client())

    result = await agent.run("Look a up.")

    assert result.output == "Done."
    sent_back = messages_server.requests[1].messages[1]
    assert [b["type"] for b in sent_back["content"]] == ["tool_use"]


@pytest.mark.parametrize("stop_at", [ToolCallReady, ToolCallFinished])
async def test_leaving_a_stream_early_keeps_the_history_valid_to_send(
    messages_server: MessagesServer, tmp_path: Path, stop_at: type
) -> None:
    messages_server.script(Reply.tool_calls(("lookup", {"q": "a"}), ("lookup", {"q": "b"})), Reply.text("Again."))
    store = SQLiteSessionStore(tmp_path / "s.sqlite3")
    agent = Agent(model="claude-haiku-4-5", tools=[lookup], session_store=store, client=messages_server.client())

    async with agent.stream("Look up a and b.", session="s") as run:
        async for event in run:
            if isinstance(event, stop_at):
                break
    history = list(run.messages)  # once the block is left

    last = history[-1]
    assert last["role"] == "user"
    assert [b["type"] for b in last["content"]] == ["tool_result", "tool_result"]
    assert await store.load("s") == history  # the session holds every result that exists
    again = await agent.run("Go on.", history=history)  # sent again: the validator accepts it
    assert again.output == "Again."


async def test_a_finished_typed_session_resumes_to_its_result_without_a_request(
    messages_server: MessagesServer, tmp_path: Path
) -> None:
    answer = {"name": "Ada", "email": "ada@example.com"}
    messages_server.script(Reply(content=[tool_use("final_result", answer)]))
    store = SQLiteSessionStore(tmp_path / "s.sqlite3")
    agent = Agent(model="claude-haiku-4-5", output_type=Contact, session_store=store, client=messages_server.client())
    first = await agent.run("Ada", session="s")

    again = await agent.resume(session="s")

    assert again.output == first.output == Contact(**answer)
    assert len(messages_server.requests) == 1


async def test_a_typed_output_history_goes_on_with_an_agent_without_tools(messages_server: MessagesServer) -> None:
    answer = {"name": "Ada", "email": "ada@example.com"}
    messages_server.script(Reply(content=[tool_use("final_result", answer)]), Reply.text("She is Ada."))
    client = messages_server.client()
    extracted = await Agent(model="claude-haiku-4-5", output_type=Contact, client=client).run("Ada")

    plain = await Agent(model="claude-haiku-4-5", client=client).run("Who is she?", history=extracted.messages)

    assert plain.output == "She is Ada."
    assert [t["name"] for t in messages_server.requests[1].body["tools"]] == ["final_result"]


async def test_citations_survive_an_answer_stitched_across_a_continuation(messages_server: MessagesServer) -> None:
    cited = {
        "type": "text",
        "text": "The sky is blue",
        "citations": [
            {
                "type": "char_location",
                "cited_text": "blue",
                "document_index": 0,
                "document_title": None,
                "start_char_index": 0,
                "end_char_index": 4,
            }
        ],
    }
    messages_server.script(Reply(content=[cited], stop_reason="max_tokens"), Reply.text(" and the grass green."))
    agent = Agent(model="claude-haiku-4-5", client=messages_server.client())

    result = await agent.run("Colours?")

    blocks = result.messages[-1]["content"]
    assert blocks[0]["citations"][0]["cited_text"] == "blue"
    assert "".join(b["text"] for b in blocks) == "The sky is blue and the grass green."
    assert result.output == "The sky is blue and the grass green."


async def test_output_limits_hold_across_continuations(messages_server: MessagesServer) -> None:
    def long(request: Request) -> Reply:
        return Reply(content=[text("word " * 40)], stop_reason="max_tokens", usage={"output_tokens": 200})

    messages_server.respond_with(long)
    agent = Agent(
        model="claude-haiku-4-5",
        max_tokens=200,
        usage_limits=UsageLimits(output_tokens=500),
        client=messages_server.client(),
    )

    with pytest.raises(UsageLimitExceeded) as caught:
        await agent.run("Talk.")
    assert caught.value.usage is not None
    assert caught.value.usage.output_tokens <= 500
    assert sum(r.body["max_tokens"] for r in messages_server.requests) <= 500


async def test_every_model_call_is_announced_so_a_cut_continuation_rebuilds_exactly() -> None:
    from agentkit.testing import Fault

    pieces: list[Any] = [
        Reply(content=[text("First piece, ")], stop_reason="max_tokens"),
        Fault.cut_stream(after_events=4),
        Reply(content=[text(" second piece.")]),  # a continuation regenerates the whitespace it was cut at
    ]
    with MessagesServer(pieces) as server:
        agent = Agent(model="claude-haiku-4-5", client=server.client())
        shown: list[str] = []
        since_call = 0
        async with agent.stream("Go.") as run:
            async for event in run:
                if isinstance(event, ModelCallStarted):
                    since_call = len(shown)
                elif isinstance(event, Retrying):
                    del shown[since_call:]
                elif isinstance(event, TextDelta):
                    shown.append(event.text)
        assert run.result is not None
    assert "".join(shown) == run.result.output == "First piece, second piece."
