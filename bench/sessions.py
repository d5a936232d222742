"""Bytes a session store writes over a long run: one JSON row rewritten per save, against a row per message.

    .venv/bin/python -m bench.sessions
    .venv/bin/python -m bench.sessions --turns 200,1000

A real `Agent` runs a session of N tool turns (a tool call and a ~1,900-character result each, about
2.1 KB of history per turn) against the offline server; the histories its run saves are recorded, then
replayed, with nothing else running, into a fresh store of each kind:

- schema 0: the store of the previous release, reproduced here (one JSON row per session, the whole
  history rewritten by every save, a new WAL-mode connection per save);
- schema 1: `agentkit.sessions.SQLiteSessionStore` (a row per message, a save appends what is new).

Printed: the history's size, the saves (as many as the run makes: after each model turn, before
its tools run, and as tool results land), the bytes written (`wchar` of /proc/self/io: every byte
passed to write(), the WAL and its checkpoints into the database included) and the file's size.
Linux only (it reads /proc).
"""

from __future__ import annotations

import argparse
import copy
import json
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio

from agentkit import Agent
from agentkit.sessions import SQLiteSessionStore
from agentkit.testing import MessagesServer, Reply, Request, tool_use


def look(i: int) -> str:
    """Look at item i."""
    return f"item {i}: " + "details of the item, " * 90


class Recording:
    """A session store that keeps a copy of every history the run saves, and stores nothing."""

    def __init__(self) -> None:
        self.saves: list[list[Any]] = []

    async def load(self, session_id: str) -> list[Any]:
        return []

    async def save(self, session_id: str, messages: list[Any]) -> None:
        self.saves.append(copy.deepcopy(messages))

    async def acquire(self, session_id: str, owner: str) -> None:
        return None

    async def release(self, session_id: str, owner: str) -> None:
        return None


def record(turns: int) -> list[list[Any]]:
    """The histories a run of `turns` tool turns saves, in order."""

    def model(request: Request) -> Reply:
        done = len(request.messages) // 2
        return Reply(content=[tool_use("look", {"i": done})]) if done < turns else Reply.text("All seen.")

    store = Recording()
    with MessagesServer(model) as server:
        agent = Agent(model="claude-sonnet-4-6", tools=[look], max_turns=turns + 1, session_store=store)  # type: ignore[arg-type]
        with agent.override(client=server.client()):
            agent.run_sync(f"Look at {turns} items.", session="long")
    return store.saves


def schema_0_save(path: Path, session_id: str, messages: list[Any]) -> None:
    """What the previous release's `save` did: a new connection, the whole history as one JSON row."""
    db = sqlite3.connect(path, timeout=10, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("CREATE TABLE IF NOT EXISTS sessions (id TEXT PRIMARY KEY, messages TEXT NOT NULL, updated REAL)")
    data = json.dumps(messages, ensure_ascii=False, separators=(",", ":"))
    db.execute(
        "INSERT INTO sessions (id, messages, updated) VALUES (?, ?, ?) "
        "ON CONFLICT(id) DO UPDATE SET messages = excluded.messages, updated = excluded.updated",
        (session_id, data, time.time()),
    )
    db.close()


def written() -> int:
    with open("/proc/self/io") as io:
        return next(int(line.split()[1]) for line in io if line.startswith("wchar:"))


def replay(kind: str, saves: list[list[Any]], folder: Path) -> tuple[int, int, float]:
    """(bytes written, file size, seconds) for every save into a fresh store of `kind`."""
    path = folder / f"{kind}.sqlite3"
    store = SQLiteSessionStore(path)

    async def run() -> None:
        for messages in saves:
            if kind == "schema 0":
                schema_0_save(path, "long", messages)
            else:
                await store.save("long", messages)
        store.close()  # the last connection folds the WAL into the file (counted: it is written)

    before, start = written(), time.perf_counter()
    anyio.run(run)
    seconds = time.perf_counter() - start
    return written() - before, path.stat().st_size, seconds


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(prog="python -m bench.sessions", description=__doc__.split("\n")[0])
    parser.add_argument("--turns", default="200", help="comma-separated session lengths, in tool turns")
    parser.add_argument("--quick", action="store_true", help="20 turns")
    args = parser.parse_args(argv)
    sizes = [20] if args.quick else [int(n) for n in args.turns.split(",")]
    lines = [
        "| turns | history | saves | store | bytes written | per save | file size | time |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for turns in sizes:
        saves = record(turns)
        history = len(json.dumps(saves[-1], ensure_ascii=False, separators=(",", ":")).encode())
        with tempfile.TemporaryDirectory() as folder:
            for kind in ("schema 0", "schema 1"):
                total, size, seconds = replay(kind, saves, Path(folder))
                lines.append(
                    f"| {turns} | {history / 1e6:.2f} MB | {len(saves)} | {kind} | {total / 1e6:.2f} MB "
                    f"| {total / len(saves) / 1e3:.1f} KB | {size / 1e6:.2f} MB | {seconds:.2f} s |"
                )
    report = "\n".join(["## Session store: bytes written over a long session", "", *lines])
    print(report, flush=True)
    return report


if __name__ == "__main__":
    main()
