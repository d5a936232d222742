"""Durable sessions: saved per turn, resumed after a kill, one run at a time."""

from __future__ import annotations

import functools
import importlib.util
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import anyio
import pytest

from agentkit import Agent, ConfigurationError, RunResult, SessionBusy
from agentkit.sessions import SQLiteSessionStore
from agentkit.testing import MessagesServer, Reply, Request, tool_use, validate, with_tools

HERE = Path(__file__).parent


def killable_run() -> Any:
    spec = importlib.util.spec_from_file_location("killable_run", HERE / "killable_run.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def steps_model(request: Request) -> Reply:
    """Step 1, then step 2, then done: decided from the history, so a resumed run picks up right."""
    done = sum(1 for m in request.messages for b in m["content"] if isinstance(b, dict) and b["type"] == "tool_result")
    if done < 2:
        return Reply(content=[tool_use("step", {"n": done + 1})])
    return Reply.text("Both steps done.")


@pytest.mark.parametrize("idempotent", [False, True])
def test_a_killed_run_resumes_and_never_silently_reruns_a_tool_it_cut_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, idempotent: bool
) -> None:
    log, db = tmp_path / "steps.log", tmp_path / "sessions.sqlite3"
    store = SQLiteSessionStore(db)
    flag = {"IDEMPOTENT": "1"} if idempotent else {}
    if idempotent:
        monkeypatch.setenv("IDEMPOTENT", "1")
    with MessagesServer(steps_model) as server:
        env = {**os.environ, "SERVER_URL": server.url, "SESSION_DB": str(db), "STEP_LOG": str(log), "HANG_AT_2": "1"}
        env.update(flag)
        child = subprocess.Popen([sys.executable, str(HERE / "killable_run.py")], env=env)
        try:
            deadline = time.monotonic() + 20
            while "start 2" not in (log.read_text() if log.exists() else ""):
                assert child.poll() is None, "the run ended before it was killed"
                assert time.monotonic() < deadline, "the run never reached step 2"
                time.sleep(0.02)
        finally:
            child.kill()
            child.wait()

        saved = anyio.run(store.load, "job-1")
        assert [m["role"] for m in saved] == ["user", "assistant", "user", "assistant"]  # step 2's call on record

        for name, value in (("SERVER_URL", server.url), ("SESSION_DB", str(db)), ("STEP_LOG", str(log))):
            monkeypatch.setenv(name, value)
        agent = killable_run().make_agent()

        async def resume() -> RunResult[Any]:
            try:
                return await agent.resume(session="job-1")
            finally:
                await agent.client.close()

        result = anyio.run(resume)

    assert result.output == "Both steps done."
    assert len(server.requests) == 3  # the model was not asked for step 2 again
    second = result.messages[4]["content"][0]
    if idempotent:  # safe to run again: it was
        assert log.read_text().splitlines() == ["start 1", "done 1", "start 2", "start 2", "done 2"]
        assert second["content"] == "step 2 done"
    else:  # not idempotent: never rerun; the model is told it may or may not have happened
        assert log.read_text().splitlines() == ["start 1", "done 1", "start 2"]
        assert second["is_error"] is True
        assert "may or may not have taken effect" in second["content"]
    final = anyio.run(store.load, "job-1")
    assert final == result.messages
    resent = {"model": "m", "max_tokens": 5, "messages": [*final, {"role": "user", "content": "hi"}]}
    assert validate(with_tools(resent)) is None


@pytest.mark.anyio
async def test_each_completed_turn_is_saved_and_the_next_run_continues_the_session(
    messages_server: MessagesServer, tmp_path: Path
) -> None:
    store = SQLiteSessionStore(tmp_path / "s.sqlite3")
    messages_server.script(Reply.text("Hi Ada."), Reply.text("You are Ada."))
    agent = Agent(model="claude-sonnet-4-6", session_store=store, client=messages_server.client())

    await agent.run("I am Ada.", session="chat")
    second = await agent.run("Who am I?", session="chat")

    assert second.output == "You are Ada."
    assert [m["role"] for m in messages_server.requests[1].messages] == ["user", "assistant", "user"]
    assert await store.load("chat") == second.messages
    assert await store.load("other") == []


@pytest.mark.anyio
async def test_two_runs_on_one_session_are_rejected_clearly(messages_server: MessagesServer, tmp_path: Path) -> None:
    store = SQLiteSessionStore(tmp_path / "s.sqlite3")
    entered, gate = anyio.Event(), anyio.Event()

    async def wait() -> str:
        """Wait."""
        entered.set()
        await gate.wait()
        return "ok"

    messages_server.script(Reply(content=[tool_use("wait", {})]), Reply.text("done"))
    agent = Agent(model="claude-sonnet-4-6", tools=[wait], session_store=store, client=messages_server.client())
    other = Agent(model="claude-sonnet-4-6", session_store=store, client=messages_server.client())

    async with anyio.create_task_group() as group:
        group.start_soon(functools.partial(agent.run, "first", session="shared"))
        await entered.wait()
        with pytest.raises(SessionBusy, match="Session 'shared' is in use by another run"):
            await other.run("second", session="shared")
        gate.set()


@pytest.mark.anyio
async def test_different_sessions_run_concurrently_without_interference(
    messages_server: MessagesServer, tmp_path: Path
) -> None:
    store = SQLiteSessionStore(tmp_path / "s.sqlite3")
    messages_server.respond_with(lambda request: Reply.text(f"echo {request.last_user_text}"))
    agent = Agent(model="claude-sonnet-4-6", session_store=store, client=messages_server.client())

    async with anyio.create_task_group() as group:
        for i in range(8):
            group.start_soon(functools.partial(agent.run, f"msg {i}", session=f"s{i}"))

    for i in range(8):
        saved = await store.load(f"s{i}")
        assert saved[-1]["content"][0]["text"] == f"echo msg {i}"


@pytest.mark.anyio
async def test_resume_without_an_unfinished_run_is_a_clear_error(
    messages_server: MessagesServer, tmp_path: Path
) -> None:
    agent = Agent(model="m", session_store=SQLiteSessionStore(tmp_path / "s.sqlite3"), client=messages_server.client())
    with pytest.raises(ConfigurationError, match="has no unfinished run to resume"):
        await agent.resume(session="nothing")
