"""Past max_tokens: a cut answer is continued and stitched; a cut tool call is never run."""

from __future__ import annotations

import pytest

from agentkit import Agent, MaxTokensReached, TextDelta
from agentkit._loop.continuation import CONTINUE_PROMPT
from agentkit.testing import MessagesServer, Reply, Request, text, thinking, tool_use

pytestmark = pytest.mark.anyio

# Cut every 11 characters, the first piece ends in a space: "Alpha beta " -> prefill "Alpha beta".
FULL = "Alpha beta gamma delta, epsilon zeta."


def text_of(message: dict) -> str:  # type: ignore[type-arg]
    content = message["content"]
    return content if isinstance(content, str) else "".join(b.get("text", "") for b in content)


def continuing_model(piece: int, *, with_thinking: bool = False):  # type: ignore[no-untyped-def]
    """A model whose uninterrupted answer is FULL, cut every `piece` characters."""

    def handler(request: Request) -> Reply:
        messages = request.messages
        if messages[-1]["role"] == "assistant":  # prefill: continue the assistant's own text
            done = text_of(messages[-1])
        elif text_of(messages[-1]) == CONTINUE_PROMPT:  # a user turn asked to continue
            done = text_of(messages[-2])
        else:
            done = ""
        rest = FULL[len(done) :]
        blocks = [thinking(f"continuing after {len(done)} characters")] if with_thinking else []
        cut = len(rest) > piece
        return Reply(content=[*blocks, text(rest[:piece])], stop_reason="max_tokens" if cut else "end_turn")

    return handler


async def test_a_three_piece_continuation_is_byte_for_byte_the_uninterrupted_text(
    messages_server: MessagesServer,
) -> None:
    messages_server.respond_with(continuing_model(14))
    agent = Agent(model="claude-haiku-4-5", client=messages_server.client())

    result = await agent.run("Recite.")

    assert result.output == FULL
    assert len(messages_server.requests) == 3
    assert result.usage.requests == 3
    second = messages_server.requests[1].messages
    assert second[-1] == {"role": "assistant", "content": [{"type": "text", "text": "Alpha beta gam"}]}
    assert result.messages == [
        {"role": "user", "content": "Recite."},
        {"role": "assistant", "content": [{"type": "text", "text": FULL}]},
    ]


async def test_prefill_whitespace_is_stripped_and_regenerated(messages_server: MessagesServer) -> None:
    messages_server.respond_with(continuing_model(11))
    agent = Agent(model="claude-haiku-4-5", client=messages_server.client())

    result = await agent.run("Recite.")

    assert result.output == FULL
    prefill = messages_server.requests[1].messages[-1]
    assert prefill["content"][-1]["text"] == "Alpha beta"  # "Alpha beta " would be a 400


def echoing_model(piece: int):  # type: ignore[no-untyped-def]
    """`continuing_model`, but like llama.cpp's llama-server: its answer to a prefill starts with it."""
    inner = continuing_model(piece)

    def handler(request: Request) -> Reply:
        reply = inner(request)
        last = request.messages[-1]
        if last["role"] == "assistant":
            reply.content[-1]["text"] = text_of(last) + reply.content[-1]["text"]
        return reply

    return handler


@pytest.mark.parametrize("stream", [False, True], ids=["create", "stream"])
async def test_a_server_that_repeats_the_prefill_still_gives_the_text_once(
    messages_server: MessagesServer, stream: bool
) -> None:
    messages_server.respond_with(echoing_model(20))  # "Alpha beta gamma del": long enough to be no chance
    agent = Agent(model="claude-haiku-4-5", client=messages_server.client())

    if stream:
        async with agent.stream("Recite.") as run:
            shown = "".join([event.text async for event in run if isinstance(event, TextDelta)])
        assert run.result is not None
        output = run.result.output
        assert shown == output
    else:
        output = (await agent.run("Recite.")).output

    assert output == FULL
    assert len(messages_server.requests) == 2


async def test_once_a_server_was_seen_to_echo_even_a_short_repeat_is_dropped(messages_server: MessagesServer) -> None:
    agent = Agent(model="claude-haiku-4-5", client=messages_server.client())
    messages_server.respond_with(echoing_model(20))
    await agent.run("Recite.")
    messages_server.respond_with(echoing_model(10))  # "Alpha beta": a prefill of ten characters

    assert (await agent.run("Recite.")).output == FULL


async def test_a_short_answer_that_goes_on_with_what_it_said_is_kept(messages_server: MessagesServer) -> None:
    # The API never repeats a prefill: "ab", then "ab!" is "abab!". Too short to be told from an echo,
    # it is taken as the model's.
    messages_server.script(Reply([text("ab")], stop_reason="max_tokens"), Reply([text("ab!")]))

    assert (await Agent(model="claude-haiku-4-5", client=messages_server.client()).run("Go.")).output == "abab!"


async def test_a_server_seen_not_to_echo_keeps_even_a_long_repeat(messages_server: MessagesServer) -> None:
    agent = Agent(model="claude-haiku-4-5", client=messages_server.client())
    messages_server.respond_with(continuing_model(20))  # answers a 20-character prefill without it
    assert (await agent.run("Recite.")).output == FULL
    said = "Once upon a time"
    messages_server.script(Reply([text(said)], stop_reason="max_tokens"), Reply([text(f"{said}, again.")]))

    assert (await agent.run("Tell it twice.")).output == f"{said}{said}, again."


async def test_a_model_family_known_to_refuse_prefill_is_continued_with_a_user_turn_at_once() -> None:
    with MessagesServer(continuing_model(14), prefill=False) as server:
        agent = Agent(model="claude-opus-4-7", client=server.client())
        result = await agent.run("Recite.")

    assert result.output == FULL
    assert server.rejected == []  # no prefill was ever sent: the model table knows the family
    assert server.requests[1].messages[-1] == {"role": "user", "content": CONTINUE_PROMPT}


@pytest.mark.parametrize(
    "model", ["anthropic.claude-opus-4-7-v1:0", "us.anthropic.claude-sonnet-5-v1:0", "claude-opus-4-7@20251001"]
)
async def test_bedrock_and_vertex_ids_find_their_family_in_the_model_table(model: str) -> None:
    with MessagesServer(continuing_model(14), prefill=False) as server:
        result = await Agent(model=model, client=server.client()).run("Recite.")

    assert result.output == FULL
    assert server.rejected == []


@pytest.mark.agentkit_allow_rejected
async def test_a_model_the_table_does_not_know_learns_from_the_prefill_400() -> None:
    with MessagesServer(continuing_model(14), prefill=False) as server:
        agent = Agent(model="claude-nova-1", client=server.client())
        result = await agent.run("Recite.")
        again = await agent.run("Recite.")

    assert result.output == again.output == FULL
    [(_request, reason)] = server.rejected  # tried once, then remembered for the model
    assert "prefill" in reason
    assert server.requests[2].messages[-1] == {"role": "user", "content": CONTINUE_PROMPT}
    assert [m["role"] for m in result.messages] == ["user", "assistant"]


async def test_with_thinking_the_continuation_is_a_user_turn_and_thinking_is_kept(
    messages_server: MessagesServer,
) -> None:
    messages_server.respond_with(continuing_model(14, with_thinking=True))
    agent = Agent(
        model="claude-haiku-4-5",
        thinking={"type": "enabled", "budget_tokens": 1024},
        max_tokens=2048,
        client=messages_server.client(),
    )

    result = await agent.run("Recite.")

    assert result.output == FULL
    assert all(r.messages[-1]["role"] == "user" for r in messages_server.requests)
    assert result.thinking.splitlines()[0] == "continuing after 0 characters"
    [_, answer] = result.messages
    assert [b["type"] for b in answer["content"]] == ["thinking", "thinking", "thinking", "text"]


async def test_continuations_are_bounded(messages_server: MessagesServer) -> None:
    messages_server.respond_with(continuing_model(5))
    agent = Agent(model="claude-haiku-4-5", max_continuations=2, client=messages_server.client())

    with pytest.raises(MaxTokensReached, match="after 2 continuation") as caught:
        await agent.run("Recite.")

    assert FULL.startswith(caught.value.partial_output)
    assert len(caught.value.partial_output) == 15
    assert caught.value.messages == [{"role": "user", "content": "Recite."}]


@pytest.mark.parametrize("stream", [False, True])
async def test_a_tool_call_cut_by_max_tokens_is_never_run_and_the_turn_is_redone_with_more_room(
    messages_server: MessagesServer, stream: bool
) -> None:
    # Streamed, the cut call's input JSON stops part of the way (as the API sends it): read as far
    # as it goes, it is a max_tokens stop like any other, not a broken response to send again.
    ran: list[str] = []

    def delete(path: str) -> str:
        """Delete a file."""
        ran.append(path)
        return "deleted"

    messages_server.script(
        Reply(content=[text("Deleting."), tool_use("delete", {"path": "/tm"})], stop_reason="max_tokens"),
        Reply(content=[text("Deleting."), tool_use("delete", {"path": "/tmp/x"})]),
        Reply.text("Done."),
    )
    agent = Agent(model="claude-haiku-4-5", tools=[delete], max_tokens=1000, client=messages_server.client())

    if stream:
        async with agent.stream("clean up") as events:
            async for _ in events:
                pass
        assert events.result is not None
        result = events.result
    else:
        result = await agent.run("clean up")

    assert ran == ["/tmp/x"]
    assert [r.body["max_tokens"] for r in messages_server.requests] == [1000, 2000, 1000]
    assert result.output == "Done."
    assert result.usage.requests == 3


async def test_a_tool_call_cut_at_the_models_output_limit_is_an_error(messages_server: MessagesServer) -> None:
    messages_server.script(*[Reply(content=[tool_use("delete", {"p": "/"})], stop_reason="max_tokens")] * 2)

    def delete(p: str) -> str:
        """Delete."""
        raise AssertionError("a truncated call must never run")

    agent = Agent(model="claude-haiku-4-5", tools=[delete], max_tokens=40_000, client=messages_server.client())
    with pytest.raises(MaxTokensReached, match="output limit"):
        await agent.run("go")
    assert [r.body["max_tokens"] for r in messages_server.requests] == [40_000, 64_000]
