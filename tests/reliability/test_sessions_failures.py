"""Every way the store's file can fail is a `SessionStoreError` naming the path and the fix; a save
that fails keeps what it could not write; the previous release's layout is migrated."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from agentkit import Agent
from agentkit.errors import SessionStoreError
from agentkit.sessions import SQLiteSessionStore
from agentkit.testing import MessagesServer, Reply

pytestmark = pytest.mark.anyio

HISTORY: list[Any] = [{"role": "user", "content": "I am Ada."}, {"role": "assistant", "content": "Hi Ada."}]


def saved_store(path: Path) -> SQLiteSessionStore:
    store = SQLiteSessionStore(path)
    anyio.run(store.save, "chat", HISTORY)
    return store


async def test_garbage_bytes_are_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    path.write_bytes(os.urandom(8192))

    with pytest.raises(SessionStoreError) as caught:
        await SQLiteSessionStore(path).load("chat")

    assert str(caught.value).startswith(
        f"Could not load session 'chat': {path} is not a SQLite database, or is damaged"
    )
    assert f"`mv {path} {path}.broken`" in str(caught.value)
    assert caught.value.path == str(path)


def test_a_truncated_database_is_damaged(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    store = SQLiteSessionStore(path)
    for i in range(50):
        anyio.run(store.save, f"s{i}", [{"role": "user", "content": "x" * 2000}])
    store.close()  # the last connection folds the WAL into the file
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])

    with pytest.raises(SessionStoreError, match=r"is not a SQLite database, or is damaged \(truncated"):
        anyio.run(SQLiteSessionStore(path).load, "s49")


async def test_a_directory_is_not_a_store_and_the_error_suggests_a_file_in_it(tmp_path: Path) -> None:
    with pytest.raises(SessionStoreError) as caught:
        await SQLiteSessionStore(tmp_path).save("chat", HISTORY)

    assert f"{tmp_path} is a directory, not a database file" in str(caught.value)
    assert f"e.g. {tmp_path / 'sessions.sqlite3'}" in str(caught.value)
    assert caught.value.unsaved == HISTORY  # the whole history: nothing could be written


async def test_a_fifo_is_refused_without_hanging(tmp_path: Path) -> None:
    path = tmp_path / "pipe"
    os.mkfifo(path)
    with pytest.raises(SessionStoreError, match=r"is not a regular file \(a FIFO\)"):
        await SQLiteSessionStore(path).load("chat")


async def test_a_folder_that_cannot_be_made_is_named(tmp_path: Path) -> None:
    (tmp_path / "state").write_text("a file where the folder should be")
    path = tmp_path / "state" / "sessions.sqlite3"
    with pytest.raises(SessionStoreError, match=f"its folder {tmp_path / 'state'} cannot be made"):
        await SQLiteSessionStore(path).save("chat", HISTORY)


@contextlib.contextmanager
def unprivileged() -> Iterator[None]:
    """Root writes through file modes: as root, act as `nobody` meanwhile (the effective uid only, so
    it can be taken back). Everything the code under test imports must be imported before."""
    if os.geteuid() != 0:
        yield
        return
    os.seteuid(65534)
    try:
        yield
    finally:
        os.seteuid(0)


def test_read_only_storage_says_so_and_how_to_fix_it() -> None:
    folder = Path(tempfile.mkdtemp(prefix="agentkit-ro-"))  # not under tmp_path: `nobody` must reach it
    try:
        folder.chmod(0o755)
        path = folder / "s.sqlite3"
        saved_store(path)
        with pytest.raises(SessionStoreError):  # imports the error's path before acting as `nobody`
            anyio.run(SQLiteSessionStore(folder).save, "chat", HISTORY)
        path.chmod(0o444)
        folder.chmod(0o555)
        with unprivileged(), pytest.raises(SessionStoreError) as caught:
            anyio.run(SQLiteSessionStore(path).save, "chat", [*HISTORY, {"role": "user", "content": "more"}])
    finally:
        folder.chmod(0o755)
        shutil.rmtree(folder)

    message = str(caught.value)
    assert message.startswith(f"Could not save session 'chat': {path} is read-only. Make the file and its folder")
    assert f"(`chmod u+w {path} {folder}`)" in message
    assert caught.value.unsaved[-1] == {"role": "user", "content": "more"}


def test_a_schema_0_store_is_migrated_in_place(tmp_path: Path) -> None:
    """The layout of the previous release: one JSON row per session, locks by pid and host."""
    path = tmp_path / "s.sqlite3"
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("CREATE TABLE sessions (id TEXT PRIMARY KEY, messages TEXT NOT NULL, updated REAL)")
    db.execute("CREATE TABLE locks (session_id TEXT PRIMARY KEY, owner TEXT, pid INTEGER, host TEXT, since REAL)")
    db.execute("INSERT INTO sessions VALUES ('chat', ?, 1700000000.0)", (json.dumps(HISTORY),))
    db.execute("INSERT INTO sessions VALUES ('cut', ?, 1700000001.0)", (json.dumps(HISTORY)[:-9],))
    db.execute("INSERT INTO locks VALUES ('chat', 'old', 999999, 'gone-host', 1700000000.0)")
    db.close()
    store = SQLiteSessionStore(path)

    assert anyio.run(store.load, "chat") == HISTORY
    anyio.run(store.acquire, "chat", "new-run")  # the old pid/host lock is gone
    anyio.run(store.save, "chat", [*HISTORY, {"role": "user", "content": "Who am I?"}])
    anyio.run(store.release, "chat", "new-run")
    assert len(anyio.run(store.load, "chat")) == 3
    with pytest.raises(SessionStoreError, match=r"session 'cut'.*message 0 is not valid JSON"):
        anyio.run(store.load, "cut")
    check = sqlite3.connect(path)
    assert check.execute("PRAGMA user_version").fetchone()[0] == 1
    assert {row[0] for row in check.execute("SELECT name FROM sqlite_master WHERE type = 'table'")} == {
        "sessions",
        "messages",
        "locks",
        "tool_calls",
    }
    check.close()


def test_a_newer_schema_is_not_touched(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    saved_store(path)
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA user_version = 7")
    db.close()
    with pytest.raises(SessionStoreError, match=r"has schema 7, written by a newer agentkit .* Upgrade agentkit"):
        anyio.run(SQLiteSessionStore(path).load, "chat")


async def test_another_programs_database_is_not_taken_over(tmp_path: Path) -> None:
    path = tmp_path / "app.db"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE users (id INTEGER)")
    db.commit()
    db.close()
    with pytest.raises(SessionStoreError, match=r"not an agentkit session store \(tables: users\)"):
        await SQLiteSessionStore(path).save("chat", HISTORY)


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ('{"role": "assistant", "content": [{"type": "text", "te', "message 1 is not valid JSON"),
        ('["assistant", "Hi"]', "message 1 is not a message: expected an object with 'role' and 'content', got list"),
        ('{"role": "system", "content": "x"}', "message 1 is not a message: role is 'system'"),
        ('{"role": "user", "content": [1]}', "message 1 is not a message: content[0] is not a block"),
    ],
)
def test_a_damaged_row_names_the_session_the_message_and_the_fix(tmp_path: Path, data: str, problem: str) -> None:
    store = saved_store(tmp_path / "s.sqlite3")
    db = sqlite3.connect(store.path, isolation_level=None)
    db.execute("UPDATE messages SET data = ? WHERE session_id = 'chat' AND seq = 1", (data,))
    db.close()

    with pytest.raises(SessionStoreError) as caught:
        anyio.run(SQLiteSessionStore(store.path).load, "chat")

    message = str(caught.value)
    assert f"Could not load session 'chat': {store.path} holds a damaged history: {problem}" in message
    assert "`agentkit sessions show chat --db" in message
    assert "`agentkit sessions delete chat`" in message


async def test_a_full_disk_keeps_the_unsaved_messages_and_the_saved_history(tmp_path: Path) -> None:
    store = SQLiteSessionStore(tmp_path / "s.sqlite3", max_bytes=64 * 1024)
    await store.save("chat", HISTORY)
    answer = {"role": "assistant", "content": [{"type": "text", "text": "A long answer. " * 8000}]}
    longer = [*HISTORY, {"role": "user", "content": "Tell me everything."}, answer]

    with pytest.raises(SessionStoreError) as caught:
        await store.save("chat", longer)

    message = str(caught.value)
    assert message.startswith(f"Could not save session 'chat': {store.path} cannot grow: the disk is full")
    assert "Not saved: messages 2 (user: 'Tell me everything.'), 3 (assistant: 'A long answer." in message
    assert caught.value.unsaved == longer[2:]
    assert caught.value.messages == longer
    assert await store.load("chat") == HISTORY  # the failed save wrote nothing
    roomy = SQLiteSessionStore(store.path)
    await roomy.save("chat", caught.value.messages)
    assert await roomy.load("chat") == longer


async def test_a_full_disk_after_the_model_answered_does_not_lose_the_answer(
    messages_server: MessagesServer, tmp_path: Path
) -> None:
    store = SQLiteSessionStore(tmp_path / "s.sqlite3", max_bytes=64 * 1024)
    messages_server.script(Reply.text("The whole report. " * 8000))
    agent = Agent(model="claude-sonnet-4-6", session_store=store, client=messages_server.client())

    with pytest.raises(SessionStoreError, match="the disk is full") as caught:
        await agent.run("Write the report.", session="report")

    assert caught.value.unsaved[-1]["content"][0]["text"].startswith("The whole report.")
    assert await store.load("report") == [{"role": "user", "content": "Write the report."}]
