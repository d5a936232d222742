"""The session store's history: appended, not rewritten; rewritten only where it changed; tool calls
that started and never finished remembered; a history it cannot hold refused before any write."""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from agentkit import Agent, InputError
from agentkit.sessions import SQLiteSessionStore
from agentkit.testing import MessagesServer, Reply, tool_use

pytestmark = pytest.mark.anyio


def turn(i: int) -> list[Any]:
    """One tool turn: the model's tool_use, then the user's tool_result."""
    return [
        {"role": "assistant", "content": [{"type": "tool_use", "id": f"t{i}", "name": "look", "input": {"i": i}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": f"t{i}", "content": f"result {i} " * 20}]},
    ]


def count_inserts(path: Path) -> sqlite3.Connection:
    """A trigger that counts the message rows a save writes (the store's own connections fire it)."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("CREATE TABLE inserted (n INTEGER)")
    db.execute("INSERT INTO inserted VALUES (0)")
    db.execute("CREATE TRIGGER count_rows AFTER INSERT ON messages BEGIN UPDATE inserted SET n = n + 1; END")
    return db


def inserted(db: sqlite3.Connection) -> int:
    return int(db.execute("SELECT n FROM inserted").fetchone()[0])


async def test_each_save_writes_only_the_new_messages(tmp_path: Path) -> None:
    store = SQLiteSessionStore(tmp_path / "s.sqlite3")
    history: list[Any] = [{"role": "user", "content": "Look at 200 things."}]
    await store.save("long", history)
    counter = count_inserts(store.path)

    for i in range(200):
        history += turn(i)
        await store.save("long", history)

    assert inserted(counter) == 400  # two per turn, never the whole history again
    assert await store.load("long") == history


async def test_a_growing_last_message_rewrites_only_that_message(tmp_path: Path) -> None:
    """The run saves each tool result as it lands: the last user message gains a block each time."""
    store = SQLiteSessionStore(tmp_path / "s.sqlite3")
    history: list[Any] = [{"role": "user", "content": "go"}, *turn(0)]
    await store.save("s", history)
    counter = count_inserts(store.path)
    calls = [{"type": "tool_use", "id": f"c{i}", "name": "look", "input": {}} for i in range(3)]
    history.append({"role": "assistant", "content": calls})
    results: list[Any] = []
    history.append({"role": "user", "content": results})

    for i in range(3):
        results.append({"type": "tool_result", "tool_use_id": f"c{i}", "content": f"r{i}"})
        await store.save("s", history)

    assert inserted(counter) == 2 + 1 + 1  # the new pair, then the last message twice more
    assert (await store.load("s"))[-1]["content"] == results


async def test_a_rewritten_history_is_stored_exactly(tmp_path: Path) -> None:
    """Whatever the run does to the history (edits in the middle, trims, a new start), load returns it."""
    store = SQLiteSessionStore(tmp_path / "s.sqlite3")
    rng = random.Random(14)
    history: list[Any] = [{"role": "user", "content": "start"}]
    for step in range(120):
        move = rng.choice(["append", "append", "edit", "edit-last", "trim", "replace"])
        if move == "append":
            history = [*history, *turn(step)]
        elif move == "edit" and len(history) > 1:
            i = rng.randrange(len(history))
            history = [*history[:i], {"role": history[i]["role"], "content": f"edited {step}"}, *history[i + 1 :]]
        elif move == "edit-last":
            history = [*history[:-1], {"role": history[-1]["role"], "content": f"last {step}"}]
        elif move == "trim":
            history = history[: rng.randrange(1, len(history) + 1)]
        else:
            history = [{"role": "user", "content": f"new start {step}"}]
        await store.save("s", history)
        assert await store.load("s") == history


async def test_started_tool_calls_stay_unfinished_until_their_result_is_saved(tmp_path: Path) -> None:
    store = SQLiteSessionStore(tmp_path / "s.sqlite3")
    calls = [{"type": "tool_use", "id": i, "name": "send", "input": {}} for i in ("a", "b", "c")]
    history: list[Any] = [{"role": "user", "content": "send three"}, {"role": "assistant", "content": calls}]
    await store.save("job", history)
    await store.mark_started("job", ["a", "b", "c"])

    history.append({"role": "user", "content": [{"type": "tool_result", "tool_use_id": "a", "content": "sent"}]})
    await store.save("job", history)
    assert await store.unfinished("job") == {"b", "c"}

    await store.mark_finished("job", "b")
    after_a_crash = SQLiteSessionStore(store.path)
    assert await after_a_crash.unfinished("job") == {"c"}
    assert await after_a_crash.unfinished("other") == set()
    assert [info.unfinished for info in await after_a_crash.sessions()] == [("c",)]

    assert await after_a_crash.delete("job")
    assert await after_a_crash.unfinished("job") == set()
    assert await after_a_crash.load("job") == []


@pytest.mark.parametrize(
    ("message", "where"),
    [
        ({"role": "user", "content": "caf\udce9"}, "message 2 cannot be saved: content (character 3)"),
        (
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t0", "content": "ok \ud800"}]},
            "message 2 cannot be saved: content[0].content (character 3)",
        ),
    ],
)
async def test_a_history_that_cannot_be_encoded_is_refused_before_any_write(
    tmp_path: Path, message: Any, where: str
) -> None:
    store = SQLiteSessionStore(tmp_path / "s.sqlite3")
    history: list[Any] = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]
    await store.save("s", history)

    with pytest.raises(InputError, match="lone surrogate") as caught:
        await store.save("s", [*history, message])

    assert where in str(caught.value)
    assert "nothing was saved" in str(caught.value)
    assert await store.load("s") == history  # not poisoned: the next run loads and resumes
    await store.save("s", [*history, {"role": "user", "content": "café"}])
    assert (await store.load("s"))[-1]["content"] == "café"


async def test_a_run_saves_into_the_store_and_the_next_run_appends(
    messages_server: MessagesServer, tmp_path: Path
) -> None:
    def look(i: int) -> str:
        """Look."""
        return f"seen {i}"

    store = SQLiteSessionStore(tmp_path / "s.sqlite3")
    messages_server.script(Reply(content=[tool_use("look", {"i": 1})]), Reply.text("Seen."), Reply.text("Again."))
    agent = Agent(model="claude-sonnet-4-6", tools=[look], session_store=store, client=messages_server.client())

    first = await agent.run("Look at 1.", session="s")
    counter = count_inserts(store.path)
    second = await agent.run("Once more.", session="s")

    assert second.messages[: len(first.messages)] == first.messages
    assert inserted(counter) == 2  # the new prompt and the new answer
    assert await store.load("s") == second.messages


async def test_a_session_id_from_undecodable_bytes_is_an_input_error(tmp_path: Path) -> None:
    store = SQLiteSessionStore(tmp_path / "s.sqlite3")
    bad = b"job-\xff".decode("utf-8", "surrogateescape")  # what argv gives for non-UTF-8 bytes

    for call in (store.load(bad), store.save(bad, []), store.acquire(bad, "run"), store.unfinished(bad)):
        with pytest.raises(InputError, match=r"The session id 'job-\\udcff' holds a lone surrogate"):
            await call
    assert await store.sessions() == []
