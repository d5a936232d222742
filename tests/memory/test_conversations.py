"""Long conversations through the real SDK and the offline server: trimming, accounting and caching together."""

from __future__ import annotations

import pytest

from agentkit import ConfigurationError
from agentkit._history import History
from agentkit.memory import ClearToolResults, ServerCompaction, Summarize, resolve_memory
from agentkit.testing import MessagesServer

from .driver import Conversation, scripted_model

pytestmark = pytest.mark.anyio


def prompt_tokens(usage: object) -> int:
    return usage.input_tokens + (usage.cache_read_input_tokens or 0) + (usage.cache_creation_input_tokens or 0)  # type: ignore[attr-defined]


async def test_fifty_turns_under_a_budget_stay_valid_within_budget_with_few_count_tokens_calls(
    messages_server: MessagesServer,
) -> None:
    messages_server.respond_with(scripted_model)
    budget = 9_000
    talk = Conversation(messages_server.client(), budget)
    for n in range(50):
        await talk.turn(f"Question {n}: where is my order?")
    prompts = [prompt_tokens(u) for u in talk.usages]
    assert max(prompts) <= budget  # by the server's own count, not only by our estimate
    assert sum(prompts) > 50 * budget  # the untrimmed conversation would be far over: trimming was forced
    assert len(messages_server.count_requests) == talk.count_calls <= 5
    reads = sum(u.cache_read_input_tokens or 0 for u in talk.usages[2:])
    assert reads / sum(prompts[2:]) > 0.85
    assert messages_server.rejected == []


async def test_without_a_budget_every_request_reads_all_but_its_new_part_from_cache(
    messages_server: MessagesServer,
) -> None:
    messages_server.respond_with(scripted_model)
    talk = Conversation(messages_server.client(), None)
    for n in range(10):
        await talk.turn(f"Question {n}?")
    for before, after in zip(talk.usages[1:], talk.usages[2:], strict=False):
        assert after.cache_read_input_tokens == prompt_tokens(before)  # everything the previous request sent
    assert all(u.cache_creation.ephemeral_1h_input_tokens == 0 for u in talk.usages)


async def test_summarize_replaces_dropped_turns_with_one_summary_extended_per_cut(
    messages_server: MessagesServer,
) -> None:
    messages_server.respond_with(scripted_model)
    memory = Summarize(max_tokens=200)
    talk = Conversation(messages_server.client(), 9_000, memory=memory)
    for n in range(30):
        await talk.turn(f"Question {n}: where is my order?")
    summarize_requests = [r for r in messages_server.requests if r.body["model"] == "claude-haiku-4-5"]
    assert 1 <= memory.calls == len(summarize_requests) == len(talk.extra_calls)
    assert memory.calls < 10  # once per cut, not per request
    later = [r for r in summarize_requests[1:]]
    assert all("<summary_so_far>" in r.body["messages"][0]["content"] for r in later)  # extended, not redone
    with_summary = [s for s in talk.sent if "earlier_conversation_summary" in str(s["messages"][:3])]
    assert len(with_summary) > 10
    assert messages_server.rejected == []


async def test_a_resumed_conversation_reuses_the_summary_it_already_has(messages_server: MessagesServer) -> None:
    messages_server.respond_with(scripted_model)
    memory = Summarize(max_tokens=200)
    talk = Conversation(messages_server.client(), 9_000, memory=memory)
    for n in range(16):
        await talk.turn(f"Question {n}?")
    calls = memory.calls
    resumed = Conversation(messages_server.client(), 9_000, memory=memory, messages=History(talk.messages))
    await resumed.turn("One more question?")
    assert memory.calls == calls


async def test_server_compaction_sends_context_management_through_the_beta_api(
    messages_server: MessagesServer,
) -> None:
    messages_server.respond_with(scripted_model)
    talk = Conversation(messages_server.client(), 60_000, memory=ServerCompaction())
    await talk.turn("Where is my order?")
    sent = messages_server.requests[0]
    assert sent.body["context_management"] == {
        "edits": [{"type": "compact_20260112", "trigger": {"type": "input_tokens", "value": 60_000}}]
    }
    assert "compact-2026-01-12" in sent.headers["anthropic-beta"]
    assert messages_server.rejected == []


async def test_clearing_tool_results_sends_its_edit_through_the_beta_api(messages_server: MessagesServer) -> None:
    messages_server.respond_with(scripted_model)
    memory = ClearToolResults(trigger=30_000, keep=2, clear_at_least=5_000)
    talk = Conversation(messages_server.client(), None, memory=memory)
    await talk.turn("Where is my order?")
    edit = messages_server.requests[0].body["context_management"]["edits"][0]
    assert edit == {
        "type": "clear_tool_uses_20250919",
        "keep": {"type": "tool_uses", "value": 2},
        "trigger": {"type": "input_tokens", "value": 30_000},
        "clear_at_least": {"type": "input_tokens", "value": 5_000},
    }
    assert "context-management-2025-06-27" in messages_server.requests[0].headers["anthropic-beta"]


def test_strategies_resolve_by_name_and_bad_settings_name_the_fix() -> None:
    assert type(resolve_memory("drop_oldest")).__name__ == "DropOldest"
    assert isinstance(resolve_memory("compact"), ServerCompaction)
    custom = Summarize(model="claude-haiku-4-5", max_tokens=300)
    assert resolve_memory(custom) is custom
    with pytest.raises(ConfigurationError, match="drop_oldest"):
        resolve_memory("forget_everything")
    with pytest.raises(ConfigurationError, match="50000"):
        ServerCompaction().check(10_000)
    with pytest.raises(ConfigurationError, match="50000"):
        ServerCompaction(trigger=10_000)  # checked when constructed
