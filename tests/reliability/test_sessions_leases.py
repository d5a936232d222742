"""Session locks are leases: renewed while their run lives, expired after a bounded time when it dies,
on any host; `SessionBusy` says who holds the session, until when, and how to unlock it."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import anyio
import pytest

from agentkit import Agent, SessionBusy
from agentkit.sessions import SQLiteSessionStore
from agentkit.testing import MessagesServer, Reply, tool_use

pytestmark = pytest.mark.anyio

HOLD = """
import sys, anyio
from agentkit.sessions import SQLiteSessionStore

async def main():
    await SQLiteSessionStore(sys.argv[1], lease=30).acquire("job", "killed-run")
    print("held", flush=True)
    await anyio.sleep(3600)

anyio.run(main)
"""


class Clock:
    """Unix time that a test moves forward."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def write_lease(path: Path, session_id: str, owner: str, *, expires: float, host: str, pid: int, scope: str) -> None:
    """A lease row as another process would have left it."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute(
        "INSERT OR REPLACE INTO locks (session_id, owner, expires, host, pid, scope, since) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (session_id, owner, expires, host, pid, scope, expires - 30),
    )
    db.close()


def lease_of(path: Path, session_id: str) -> tuple[str, float] | None:
    db = sqlite3.connect(path)
    row = db.execute("SELECT owner, expires FROM locks WHERE session_id = ?", (session_id,)).fetchone()
    db.close()
    return None if row is None else (row[0], row[1])


async def test_a_live_lease_refuses_a_second_run_and_says_how_to_unlock(tmp_path: Path) -> None:
    clock = Clock()
    holder = SQLiteSessionStore(tmp_path / "s.sqlite3", clock=clock)
    await holder.acquire("job", "run-1")

    with pytest.raises(SessionBusy) as busy:
        await SQLiteSessionStore(holder.path, clock=clock).acquire("job", "run-2")

    message = str(busy.value)
    assert message.startswith("Session 'job' is in use by another run (owner run-1, pid ")
    assert "its lease expires at " in message
    assert "(in 30 s)" in message
    assert f"agentkit sessions unlock job --db {holder.path}" in message
    assert (busy.value.session_id, busy.value.owner) == ("job", "run-1")
    assert busy.value.expires == pytest.approx(clock.now + 30)
    await holder.release("job", "run-1")


async def test_a_dead_hosts_lease_expires_and_the_next_run_takes_it(tmp_path: Path) -> None:
    """A container that was restarted has a new host name: nothing can tell its old run is dead but time."""
    clock = Clock()
    store = SQLiteSessionStore(tmp_path / "s.sqlite3", lease=30, clock=clock)
    await store.save("job", [{"role": "user", "content": "go"}])
    write_lease(store.path, "job", "old-run", expires=clock.now + 12, host="web-7f9c", pid=os.getpid(), scope="x")

    with pytest.raises(SessionBusy, match=r"owner old-run, pid \d+ on web-7f9c\); its lease expires .*\(in 12 s\)"):
        await store.acquire("job", "new-run")
    clock.now += 13
    await store.acquire("job", "new-run")

    assert lease_of(store.path, "job") == ("new-run", clock.now + 30)
    await store.release("job", "new-run")
    assert lease_of(store.path, "job") is None


async def test_a_reused_pid_on_this_host_holds_only_until_the_lease_expires(tmp_path: Path) -> None:
    """The pid of the dead run now belongs to another live process: expiry still frees the session."""
    from agentkit.sessions._lease import here

    clock = Clock()
    store = SQLiteSessionStore(tmp_path / "s.sqlite3", clock=clock)
    await store.save("job", [{"role": "user", "content": "go"}])
    host, _, scope = here()
    write_lease(store.path, "job", "dead-run", expires=clock.now + 30, host=host, pid=os.getppid(), scope=scope)

    with pytest.raises(SessionBusy):
        await store.acquire("job", "next-run")
    clock.now += 31
    await store.acquire("job", "next-run")
    await store.release("job", "next-run")


def test_a_sigkilled_runs_lease_is_taken_over_at_once_on_its_own_host(tmp_path: Path) -> None:
    db = tmp_path / "s.sqlite3"
    child = subprocess.Popen([sys.executable, "-c", HOLD, str(db)], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        assert child.stdout.readline() == "held\n"
        with pytest.raises(SessionBusy, match="owner killed-run"):
            anyio.run(SQLiteSessionStore(db).acquire, "job", "next-run")
    finally:
        child.kill()
        child.wait()

    store = SQLiteSessionStore(db)
    anyio.run(store.acquire, "job", "next-run")
    assert lease_of(db, "job") is not None
    assert lease_of(db, "job")[0] == "next-run"  # type: ignore[index]
    anyio.run(store.release, "job", "next-run")


async def test_the_lease_is_renewed_while_the_run_holds_it_and_stops_at_release(tmp_path: Path) -> None:
    store = SQLiteSessionStore(tmp_path / "s.sqlite3", lease=0.3)
    await store.acquire("job", "run-1")
    first = lease_of(store.path, "job")
    assert first is not None

    deadline = time.monotonic() + 10
    while (lease_of(store.path, "job") or first)[1] <= first[1]:
        assert time.monotonic() < deadline, "the lease was never renewed"
        await anyio.sleep(0.02)
    await store.release("job", "run-1")

    assert lease_of(store.path, "job") is None
    deadline = time.monotonic() + 10
    while store._heartbeat._thread is not None:  # this store's thread (other tests' stores may hold theirs)
        assert time.monotonic() < deadline, "the heartbeat thread outlived the last lease"
        await anyio.sleep(0.02)


async def test_a_run_whose_session_was_taken_cannot_overwrite_it(tmp_path: Path) -> None:
    clock = Clock()
    first = SQLiteSessionStore(tmp_path / "s.sqlite3", clock=clock)
    await first.acquire("job", "run-1")
    await first.save("job", [{"role": "user", "content": "one"}])

    assert (await first.unlock("job")) is not None  # `agentkit sessions unlock job`, the run was alive
    second = SQLiteSessionStore(first.path, clock=clock)
    await second.acquire("job", "run-2")
    await second.save("job", [{"role": "user", "content": "two"}])

    with pytest.raises(SessionBusy, match=r"Session 'job' was taken by another run \(owner run-2\)"):
        await first.save("job", [{"role": "user", "content": "one"}, {"role": "assistant", "content": "late"}])
    assert await second.load("job") == [{"role": "user", "content": "two"}]
    await first.release("job", "run-1")  # leaves run-2's lease alone
    assert lease_of(first.path, "job") == ("run-2", clock.now + 30)
    await second.release("job", "run-2")


async def test_a_live_run_unlocked_by_mistake_takes_its_lease_back_when_it_saves(tmp_path: Path) -> None:
    store = SQLiteSessionStore(tmp_path / "s.sqlite3")
    await store.acquire("job", "run-1")
    await store.unlock("job")

    await store.save("job", [{"role": "user", "content": "still mine"}])

    assert lease_of(store.path, "job") is not None
    assert lease_of(store.path, "job")[0] == "run-1"  # type: ignore[index]
    await store.release("job", "run-1")


async def test_a_tool_that_outlasts_the_lease_keeps_its_session(
    messages_server: MessagesServer, tmp_path: Path
) -> None:
    store = SQLiteSessionStore(tmp_path / "s.sqlite3", lease=1.0)  # renewed every 0.33 s
    other = SQLiteSessionStore(store.path)
    held = anyio.Event()

    async def crawl() -> str:
        """Crawl for longer than a lease lasts."""
        first = lease_of(store.path, "job")
        assert first is not None
        deadline = time.monotonic() + 10
        while (lease_of(store.path, "job") or first)[1] <= first[1] + 1.0:  # the tool ran past the first lease
            assert time.monotonic() < deadline, "the lease was not renewed during the tool"
            await anyio.sleep(0.02)
        with pytest.raises(SessionBusy, match="Session 'job' is in use by another run"):
            await other.acquire("job", "second-run")
        held.set()
        return "crawled"

    messages_server.script(Reply(content=[tool_use("crawl", {})]), Reply.text("Done."))
    agent = Agent(model="claude-sonnet-4-6", tools=[crawl], session_store=store, client=messages_server.client())
    result = await agent.run("Crawl it.", session="job")

    assert held.is_set()
    assert result.output == "Done."
    assert lease_of(store.path, "job") is None
