"""A durable run killed with SIGKILL mid-turn finishes when its process starts again.

Each test runs `child.py` against a MessagesServer in this process, kills it at a known point (a
model request in flight, a tool part-way), starts it again, and checks what a user would count:
requests at the server, side effects of the tools, usage and the final output.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from agentkit.durable import INTERRUPTED
from agentkit.testing import MessagesServer

from .helpers import Child, Fifo, ShopModel, effects, spans


def _env(server: MessagesServer, tmp_path: Path, **extra: str) -> dict[str, str]:
    return {"SERVER_URL": server.url, "DATABASE": str(tmp_path / "durable.sqlite"), "WORK": str(tmp_path), **extra}


def _bodies(server: MessagesServer) -> list[str]:
    return [json.dumps(r.body["messages"], sort_keys=True) for r in server.requests]


def test_killed_during_a_model_call_no_completed_call_or_tool_is_repeated(tmp_path: Path) -> None:
    model = ShopModel(hang_at=3)  # the third request (after both tools ran) hangs; the test kills there
    with MessagesServer(model) as server:
        first = Child("start", "run-1", _env(server, tmp_path))
        assert model.hanging.wait(60), "the run never reached its third model call"
        first.kill()
        assert effects(tmp_path) == ["lookup A-1 start", "lookup A-1 done", "charge A-1 40 start", "charge A-1 40 done"]

        result = Child("resume", "run-1", _env(server, tmp_path)).result()

        bodies = _bodies(server)
    # Requests 1 and 2 were answered and checkpointed: sent once. The cut third one, once more.
    assert len(bodies) == 4
    assert bodies[3] == bodies[2]
    assert len(set(bodies[:3])) == 3
    assert effects(tmp_path) == ["lookup A-1 start", "lookup A-1 done", "charge A-1 40 start", "charge A-1 40 done"]
    assert result["output"] == "Done: charged 40 EUR for A-1"
    assert result["usage"][2] == 3  # usage counted once per model call of the run, replayed or not
    assert result["run_id"] == "run-1"
    assert [m["role"] for m in result["messages"]] == ["user", "assistant", "user", "assistant", "user", "assistant"]

    # One trace: the spans of the killed process and of the recovered one share the trace id.
    recorded = spans(tmp_path)
    assert len({s["pid"] for s in recorded}) == 2
    assert {s["trace_id"] for s in recorded} == {result["trace_id"]}
    # The killed process ended two chat spans (its third call never ended); the recovered one sent
    # one request: the two calls it replayed from their steps made no span (and no token metrics).
    first_pid = recorded[0]["pid"]
    chats = [s["pid"] == first_pid for s in recorded if s["name"].startswith("chat")]
    assert chats == [True, True, False]


def test_a_non_idempotent_tool_cut_short_is_not_run_again(tmp_path: Path, fifo: Fifo) -> None:
    with MessagesServer(ShopModel()) as server:
        first = Child("start", "run-2", _env(server, tmp_path, HOLD="charge"))
        assert fifo.wait_line().startswith("charge")
        first.kill()

        result = Child("resume", "run-2", _env(server, tmp_path)).result()
        requests = len(server.requests)

    # charge started once and never again: the model is told it may or may not have happened.
    assert effects(tmp_path) == ["lookup A-1 start", "lookup A-1 done", "charge A-1 40 start"]
    assert result["output"] == f"Done: {INTERRUPTED}"
    charge_result = result["messages"][4]["content"][0]
    assert charge_result["is_error"] is True
    assert requests == 3  # no model call repeated: the first two came back from their steps
    assert result["usage"][2] == 3


def test_an_idempotent_tool_cut_short_runs_again(tmp_path: Path, fifo: Fifo) -> None:
    with MessagesServer(ShopModel()) as server:
        first = Child("start", "run-3", _env(server, tmp_path, HOLD="lookup"))
        assert fifo.wait_line().startswith("lookup")
        first.kill()

        result = Child("resume", "run-3", _env(server, tmp_path)).result()
        requests = len(server.requests)

    assert effects(tmp_path) == [
        "lookup A-1 start",  # cut short by the kill
        "lookup A-1 start",
        "lookup A-1 done",
        "charge A-1 40 start",
        "charge A-1 40 done",
    ]
    assert result["output"] == "Done: charged 40 EUR for A-1"
    assert requests == 3


def test_an_approval_waits_across_a_restart_and_is_decided_from_another_process(tmp_path: Path) -> None:
    from agentkit.durable import pending_approvals

    database = str(tmp_path / "durable.sqlite")
    with MessagesServer(ShopModel(amount=150)) as server:  # over 100 EUR: charge needs approval
        first = Child("start", "run-4", _env(server, tmp_path))
        pending = pending_approvals("run-4", database=database, wait=60)
        first.kill()
        assert [(p["name"], p["input"]) for p in pending] == [("charge", {"order": "A-1", "amount": 150})]

        decided = subprocess.run(
            [sys.executable, "-m", "agentkit", "approve", "run-4", pending[0]["id"], "--yes", "-d", database],
            capture_output=True,
            text=True,
        )
        assert decided.returncode == 0, decided.stderr

        result = Child("resume", "run-4", _env(server, tmp_path)).result()
        requests = len(server.requests)

    assert effects(tmp_path)[-2:] == ["charge A-1 150 start", "charge A-1 150 done"]
    assert result["output"] == "Done: charged 150 EUR for A-1"
    assert requests == 3
