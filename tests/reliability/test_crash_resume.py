"""SIGKILL at random moments (issue 14): a resumed session never reruns a finished tool and loses nothing.

Each case starts `crash_run.py` in a subprocess: an agent with a SQLite session whose model (this
process's `MessagesServer`, deciding from the history) asks for three turns of parallel tools, some
idempotent and some not, each logging its side effects to a file. The test kills the process with
SIGKILL after a random delay, or as a tool starts or finishes (the markers it prints), then resumes
the session here with `agent.resume(session=...)` and checks what a user would:

- no tool whose result was saved ran again, and every saved result is in the final history unchanged;
- a non-idempotent call cut off by the kill (marked started in the store, no result saved, whether
  or not its tool had begun) is answered with the "may or may not have taken effect" error and not
  rerun; an idempotent one is rerun; a call never marked started runs once;
- no non-idempotent tool ran twice, every call of the plan is answered once, the answer is given,
  and the final history (the one saved) is valid to send.

One case per kind of kill runs by default; the other 33 of the closing note are marked `slow`. With
`-s` the module prints the table (per kind of kill: tried / survived / lost / duplicated, and what
the kills cut off).
"""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from random import Random
from typing import Any

import anyio
import pytest

from agentkit import RunResult
from agentkit.sessions import SQLiteSessionStore
from agentkit.testing import MessagesServer, Reply, Request, tool_use, validate, with_tools

HERE = Path(__file__).parent
PLAN = [
    [("send_email", "a"), ("lookup", "k1"), ("fetch", "p1"), ("charge", "c1")],
    [("charge", "c2"), ("lookup", "k2"), ("send_email", "b")],
    [("fetch", "p2"), ("send_email", "c"), ("lookup", "k3")],
]
KILLS = ("delay", "start", "done")  # after a random delay, at the k-th tool start, at the k-th tool finish
DEFAULT_CASES = 3  # one per kind of kill
CASES = 36


def crash_run() -> Any:
    spec = importlib.util.spec_from_file_location("crash_run", HERE / "crash_run.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _done_turns(request: Request) -> int:
    return sum(
        1
        for m in request.messages
        if m["role"] == "user" and isinstance(m["content"], list)
        if any(b.get("type") == "tool_result" for b in m["content"])
    )


def planned_model(seed: int) -> Any:
    """The model: the next turn of `PLAN` after the turns the history answered, then the answer.
    Each call's `ms` (how long the tool works) is drawn from the case's seed."""

    def model(request: Request) -> Reply:
        turn = _done_turns(request)
        if turn >= len(PLAN):
            return Reply.text("All done.")
        rng = Random(f"{seed}-{turn}")
        calls = [
            tool_use(name, {"key": key, "ms": rng.randint(0, 60)}, id=f"toolu_{turn + 1}_{i}")
            for i, (name, key) in enumerate(PLAN[turn])
        ]
        return Reply(calls)

    return model


@dataclass
class CrashOutcome:
    kill: str
    finished_before_kill: bool = False
    survived: bool = False
    lost: bool = False
    duplicated: bool = False
    cut_rerun: int = 0  # idempotent calls cut off by the kill, rerun
    cut_may_have_run: int = 0  # non-idempotent calls cut off, answered "may or may not"
    marked_not_started: int = 0  # of those, marked started but killed before the tool began
    done_unsaved: int = 0  # calls that finished before the kill with their result not yet saved
    saved_kept: int = 0  # results saved before the kill, kept and not rerun
    problems: list[str] = field(default_factory=list)


OUTCOMES: list[CrashOutcome] = []


def side_effects(log: Path) -> list[tuple[int, str, str, str]]:
    """(pid, start|done, tool, key) for each tool marker in the side-effect file."""
    rows = []
    for line in log.read_text().splitlines() if log.exists() else []:
        parts = line.split()
        if len(parts) == 4:
            rows.append((int(parts[0]), parts[1], parts[2], parts[3]))
    return rows


def results_of(messages: list[Any]) -> dict[str, tuple[str, bool]]:
    return {
        b["tool_use_id"]: (str(b.get("content")), bool(b.get("is_error")))
        for m in messages
        if m["role"] == "user" and isinstance(m["content"], list)
        for b in m["content"]
        if b.get("type") == "tool_result"
    }


def calls_of(messages: list[Any]) -> dict[str, tuple[str, str]]:
    return {
        b["id"]: (b["name"], b["input"]["key"])
        for m in messages
        if m["role"] == "assistant" and isinstance(m["content"], list)
        for b in m["content"]
        if b.get("type") == "tool_use"
    }


def kill_at_random(child: subprocess.Popen[str], kill: str, rng: Random) -> None:
    """SIGKILL the child: `delay` seconds after it is ready, or at its k-th `start`/`done` marker."""
    assert child.stdout is not None
    target = rng.randint(1, sum(len(turn) for turn in PLAN))
    seen = 0
    for line in child.stdout:  # the child's markers, as they happen
        if kill == "delay" and line.strip() == "ready":
            time.sleep(rng.uniform(0.0, 0.6))  # the random moment itself, not a wait for something
            break
        if line.startswith(f"{kill} "):
            seen += 1
            if seen == target:
                break
    child.send_signal(signal.SIGKILL)
    child.wait()


def crash_case(seed: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CrashOutcome:
    rng = Random(seed)
    outcome = CrashOutcome(KILLS[seed % len(KILLS)])
    problems = outcome.problems
    log, db = tmp_path / "side_effects.log", tmp_path / "sessions.sqlite3"
    module = crash_run()
    with MessagesServer(planned_model(seed), latency=0.01) as server:
        env = {**os.environ, "SERVER_URL": server.url, "SESSION_DB": str(db), "SIDE_EFFECTS": str(log)}
        with (tmp_path / "child.err").open("w") as err:
            child = subprocess.Popen(
                [sys.executable, str(HERE / "crash_run.py")], env=env, stdout=subprocess.PIPE, stderr=err, text=True
            )
            try:
                kill_at_random(child, outcome.kill, rng)
            finally:
                child.kill()
                child.wait()
        outcome.finished_before_kill = child.returncode == 0
        if child.returncode not in (0, -signal.SIGKILL):
            problems.append(f"the child failed ({child.returncode}): {(tmp_path / 'child.err').read_text()[-2000:]}")
        asked_before = len(server.requests)

        store = SQLiteSessionStore(db)
        saved = anyio.run(store.load, module.SESSION)
        marked = anyio.run(store.unfinished, module.SESSION)  # started (as far as the store knows), no result
        before = side_effects(log)
        for name, value in (("SERVER_URL", server.url), ("SESSION_DB", str(db)), ("SIDE_EFFECTS", str(log))):
            monkeypatch.setenv(name, value)
        agent = module.make_agent()

        async def resume() -> RunResult[Any]:
            try:
                if not saved:  # killed before the prompt was saved: there is nothing to resume
                    ran: RunResult[Any] = await agent.run(module.PROMPT, session=module.SESSION)
                else:
                    ran = await agent.resume(session=module.SESSION)
                return ran
            finally:
                await agent.client.close()

        try:
            result: RunResult[Any] | None = anyio.run(resume)
        except Exception as exc:  # judged below
            result = None
            problems.append(f"resume failed: {exc!r}")
        final = anyio.run(store.load, module.SESSION)
        asked_after = server.requests[asked_before:]

    after = side_effects(log)[len(before) :]
    starts_before = Counter(key for pid, what, _, key in before if what == "start" and pid == child.pid)
    dones_before = Counter(key for pid, what, _, key in before if what == "done" and pid == child.pid)
    starts_after = Counter(key for pid, what, _, key in after if what == "start" and pid == os.getpid())
    if result is not None:
        check_resumed(outcome, result, saved, marked, final, starts_before, dones_before, starts_after, module)
    turns_asked = [_done_turns(r) for r in asked_after]
    if len(set(turns_asked)) != len(turns_asked):
        problems.append(f"the model was asked for one turn twice after the kill: {turns_asked}")
    outcome.survived = result is not None and not problems
    return outcome


def check_resumed(
    outcome: CrashOutcome,
    result: RunResult[Any],
    saved: list[Any],
    marked: set[str],
    final: list[Any],
    starts_before: Counter[str],
    dones_before: Counter[str],
    starts_after: Counter[str],
    module: Any,
) -> None:
    problems = outcome.problems
    if result.output != module.ANSWER:
        problems.append(f"output {result.output!r}")
    if final != result.messages:
        outcome.lost = True
        problems.append("the saved history is not the result's")
    body = {"model": "m", "max_tokens": 5, "messages": [*final, {"role": "user", "content": "Thanks."}]}
    if (problem := validate(with_tools(body))) is not None:
        outcome.lost = True
        problems.append(f"final history not valid to send: {problem}")
    calls, answered, kept = calls_of(final), results_of(final), results_of(saved)
    planned = [key for turn in PLAN for _, key in turn]
    if sorted(key for _, key in calls.values()) != sorted(planned):
        problems.append(f"the calls of the final history are not the plan's: {sorted(calls.values())}")
    for key in set(starts_before) | set(starts_after):
        if key not in {k for _, k in calls.values()}:
            problems.append(f"{key} ran but is in no call of the final history")
    for call_id, (name, key) in calls.items():
        real = (f"{name} {key} ok", False)
        got = answered.get(call_id)
        idempotent = name in module.IDEMPOTENT
        if got is None:
            outcome.lost = True
            problems.append(f"{call_id} ({name} {key}) has no result")
            continue
        if not idempotent and starts_before[key] + starts_after[key] > 1:
            outcome.duplicated = True
            problems.append(f"{name} {key} is not idempotent and ran {starts_before[key] + starts_after[key]} times")
        if call_id in kept:
            outcome.saved_kept += 1
            if got != kept[call_id]:
                outcome.lost = True
                problems.append(f"{name} {key}: saved {kept[call_id]}, final {got}")
            if starts_after[key]:
                outcome.duplicated = True
                problems.append(f"{name} {key} had its result saved and ran again")
            continue
        outcome.done_unsaved += bool(dones_before[key])
        if starts_before[key] and call_id not in marked:
            problems.append(f"{name} {key} started before the kill without being marked started in the store")
        if call_id in marked:  # cut off by the kill: marked started (perhaps not yet running), no result saved
            if idempotent:
                outcome.cut_rerun += 1
                if starts_after[key] != 1 or got != real:
                    problems.append(f"{name} {key} (idempotent, cut off) ran {starts_after[key]}x on resume: {got}")
            else:
                outcome.cut_may_have_run += 1
                outcome.marked_not_started += not starts_before[key]
                if starts_after[key] or not (got[1] and "may or may not have taken effect" in got[0]):
                    problems.append(f"{name} {key} (not idempotent, cut off) ran {starts_after[key]}x: {got}")
        elif starts_after[key] != 1 or got != real:
            problems.append(f"{name} {key} never started before the kill; on resume ran {starts_after[key]}x: {got}")


def cases() -> Iterator[Any]:
    for seed in range(CASES):
        marks = () if seed < DEFAULT_CASES else (pytest.mark.slow,)
        yield pytest.param(seed, id=f"{seed:02d}-{KILLS[seed % len(KILLS)]}", marks=marks)


@pytest.fixture(scope="module", autouse=True)
def _table() -> Iterator[None]:
    yield
    if OUTCOMES:
        print("\n" + table(OUTCOMES))


def table(outcomes: list[CrashOutcome]) -> str:
    """Per kind of kill: tried / survived / lost / duplicated, and what the kills cut off."""
    columns = (
        "tried",
        "survived",
        "lost",
        "duplicated",
        "saved kept",
        "done unsaved",
        "cut: rerun",
        "cut: may-have-run",
        "(of which not begun)",
    )
    rows = ["| kill | " + " | ".join(columns) + " | finished first |", "|---" * (len(columns) + 2) + "|"]
    for kill in (*KILLS, None):
        group = [o for o in outcomes if kill is None or o.kill == kill]
        values = (
            len(group),
            sum(o.survived for o in group),
            sum(o.lost for o in group),
            sum(o.duplicated for o in group),
            sum(o.saved_kept for o in group),
            sum(o.done_unsaved for o in group),
            sum(o.cut_rerun for o in group),
            sum(o.cut_may_have_run for o in group),
            sum(o.marked_not_started for o in group),
            sum(o.finished_before_kill for o in group),
        )
        rows.append(f"| {kill or '**all**'} | " + " | ".join(str(v) for v in values) + " |")
    return "\n".join(rows)


@pytest.mark.parametrize("seed", list(cases()))
def test_a_run_killed_at_a_random_moment_resumes_without_rerunning_or_losing_anything(
    seed: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    outcome = crash_case(seed, tmp_path, monkeypatch)
    OUTCOMES.append(outcome)
    assert outcome.problems == []
