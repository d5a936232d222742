"""`agentkit sessions list|show|delete|unlock`, through click's runner on a real store file."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any

import anyio
import pytest
from click.testing import CliRunner, Result

from agentkit.cli import main
from agentkit.sessions import SQLiteSessionStore

HISTORY: list[Any] = [
    {"role": "user", "content": "Send the report to Ada."},
    {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "send", "input": {"to": "ada"}}]},
    {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "sent"}]},
    {"role": "assistant", "content": [{"type": "text", "text": "Sent."}]},
]


def sessions(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, ["sessions", *args], env=env, catch_exceptions=False)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """A store with a finished session and one a dead run still holds, its second tool unfinished."""
    store = SQLiteSessionStore(tmp_path / "sessions.sqlite3")

    async def fill() -> None:
        await store.save("report", HISTORY)
        await store.save("crawl", HISTORY[:2])
        await store.mark_started("crawl", ["t1"])

    anyio.run(fill)
    lease = sqlite3.connect(store.path, isolation_level=None)
    lease.execute(
        "INSERT INTO locks VALUES ('crawl', 'dead-run', ?, 'web-7f9c', 4242, 'x', ?)", (time.time() + 20, time.time())
    )
    lease.close()
    return store.path


def test_list_shows_each_session_its_size_and_its_lock(db: Path) -> None:
    result = sessions("list", "--db", str(db))

    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["ID", "MESSAGES", "UPDATED", "LOCK"]
    crawl = next(line for line in lines if line.startswith("crawl"))
    assert "held by dead-run (pid 4242 on web-7f9c), expires in" in crawl
    assert "1 unfinished tool calls" in crawl
    report = next(line for line in lines if line.startswith("report"))
    assert report.split()[1] == "4"
    assert report.endswith("  -")


def test_list_json_reads_the_default_store_from_the_environment(db: Path) -> None:
    result = sessions("list", "--json", env={"AGENTKIT_SESSIONS": str(db)})

    assert result.exit_code == 0
    listed = {item["id"]: item for item in json.loads(result.stdout)}
    assert listed["report"]["messages"] == 4
    assert listed["report"]["lease"] is None
    assert listed["crawl"]["lease"]["owner"] == "dead-run"
    assert listed["crawl"]["unfinished"] == ["t1"]
    assert listed["crawl"]["updated"].endswith("Z")


def test_show_prints_every_message_and_json_gives_the_history(db: Path) -> None:
    text = sessions("show", "report", "--db", str(db))
    as_json = sessions("show", "report", "--db", str(db), "--json")

    assert text.exit_code == 0
    assert f"Session 'report' in {db}" in text.stdout
    assert '[1] assistant: [tool_use send t1] {"to": "ada"}' in text.stdout
    assert "[2] user: [tool_result t1] sent" in text.stdout
    assert "[3] assistant: Sent." in text.stdout
    assert json.loads(as_json.stdout)["history"] == HISTORY


def test_show_marks_a_damaged_message_instead_of_failing(db: Path) -> None:
    damage = sqlite3.connect(db, isolation_level=None)
    damage.execute(
        'UPDATE messages SET data = \'{"role": "assistant", "cont\' WHERE session_id = \'report\' AND seq = 3'
    )
    damage.close()

    result = sessions("show", "report", "--db", str(db))

    assert result.exit_code == 0
    assert "[3] DAMAGED: message 3 is not valid JSON" in result.stdout
    assert "[2] user: [tool_result t1] sent" in result.stdout


def test_unlock_frees_a_dead_runs_session(db: Path) -> None:
    result = sessions("unlock", "crawl", "--db", str(db))
    again = sessions("unlock", "crawl", "--db", str(db))

    assert (result.exit_code, again.exit_code) == (0, 0)
    assert result.stdout.startswith("Unlocked session 'crawl' (it was held by dead-run (pid 4242 on web-7f9c)")
    assert again.stdout == "Session 'crawl' was not locked\n"
    store = SQLiteSessionStore(db)
    anyio.run(store.acquire, "crawl", "next-run")
    anyio.run(store.release, "crawl", "next-run")


def test_delete_removes_a_session_but_not_one_a_run_holds(db: Path) -> None:
    deleted = sessions("delete", "report", "--db", str(db))
    held = sessions("delete", "crawl", "--db", str(db))
    forced = sessions("delete", "crawl", "--db", str(db), "--force")

    assert deleted.exit_code == 0
    assert deleted.stdout == f"Deleted session 'report' (4 messages) from {db}\n"
    assert held.exit_code == 1
    assert "session 'crawl' is held by a run (held by dead-run" in held.stderr
    assert "pass --force if that run is dead" in held.stderr
    assert forced.exit_code == 0
    assert anyio.run(SQLiteSessionStore(db).sessions) == []


@pytest.mark.parametrize("command", ["show", "delete", "unlock"])
def test_an_unknown_session_is_a_usage_error(db: Path, command: str) -> None:
    result = sessions(command, "nope", "--db", str(db))

    assert result.exit_code == 2
    assert result.stderr == f"Error: no session 'nope' in {db}; `agentkit sessions list` shows them\n"


def test_a_missing_store_lists_nothing_and_is_not_created(tmp_path: Path) -> None:
    path = tmp_path / "typo.sqlite3"
    assert sessions("list", "--db", str(path)).stdout == f"No sessions in {path}\n"
    assert sessions("show", "x", "--db", str(path)).exit_code == 2
    assert not path.exists()


def test_a_damaged_store_is_exit_1_with_the_path_and_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "sessions.sqlite3"
    path.write_bytes(b"not a database" * 500)

    result = sessions("list", "--db", str(path))

    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: Could not list sessions: {path} is not a SQLite database, or is damaged")
    assert f"`mv {path} {path}.broken`" in result.stderr


def test_an_id_that_is_not_utf8_is_a_usage_error(db: Path) -> None:
    result = sessions("show", b"job-\xff".decode("utf-8", "surrogateescape"), "--db", str(db))

    assert result.exit_code == 2
    assert "holds a lone surrogate" in result.stderr
