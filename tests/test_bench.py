"""The benchmarks in bench/ run, on tiny sizes. No timings are checked: `make bench` measures."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HAVE_PYDANTIC_AI = importlib.util.find_spec("pydantic_ai") is not None


@pytest.fixture(autouse=True)
def _bench_importable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(ROOT))


def test_agent_loop_runs_every_contender_and_reports_them() -> None:
    command = [
        sys.executable,
        "-m",
        "bench.agent_loop",
        "--runs",
        "2",
        "--concurrency",
        "5",
        "--concurrency-rounds",
        "1",
    ]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    rows = [line for line in done.stdout.splitlines() if line.startswith("| ")]
    peers = ["SDK tool runner"] + (["pydantic-ai"] if HAVE_PYDANTIC_AI else [])
    every = ["async tools", "sync tools", "mixed tools", "streamed", "continuation", "50-turn history"]
    for shape in every:
        assert any(row.startswith(f"| {shape} | raw SDK loop |") for row in rows), done.stdout
        assert any(row.startswith(f"| {shape} | agentkit |") for row in rows), done.stdout
    for shape in ["async tools", "sync tools", "mixed tools", "streamed"]:
        for name in peers:
            assert any(row.startswith(f"| {shape} | {name} |") for row in rows), done.stdout
    assert any(row.startswith("| sync tools | agentkit (blocking=False) |") for row in rows), done.stdout
    for name in ["raw SDK loop", "agentkit", *peers]:  # N runs at once
        assert any(row.startswith(f"| {name} |") for row in rows), done.stdout
    if not HAVE_PYDANTIC_AI:
        assert "pydantic-ai skipped: not installed" in done.stdout


def test_account_times_agentkits_own_stages_in_real_runs() -> None:
    from bench import account

    table = account.main(["--runs", "3"])
    stages = {row.split("`")[1] for row in table.splitlines() if row.startswith("| `")}
    assert {"prepare", "_parsed", "run_tools", "parse_headers", "TokenCounter.observe"} <= stages, table


def test_history_scale_prepares_requests_through_the_stages() -> None:
    from bench import history

    table = history.main(["--turns", "10,20", "--repeats", "1"])
    assert "| 20 | 81 |" in table


def test_cost_compares_caching_with_the_peers() -> None:
    from bench import cost

    table = cost.main(["--turns", "2"])
    assert "| agentkit, defaults | 4 |" in table
    if HAVE_PYDANTIC_AI:
        assert "| pydantic-ai, default (no cache settings) | 4 |" in table


def test_sessions_measures_the_bytes_each_store_layout_writes() -> None:
    from bench import sessions

    table = sessions.main(["--turns", "5"])
    rows = [line.split(" | ") for line in table.splitlines() if line.startswith("| 5 |")]
    assert [row[3] for row in rows] == ["schema 0", "schema 1"]
    assert rows[0][2] == rows[1][2]  # the same saves replayed into each
    assert int(rows[0][2]) > 5  # at least one per turn


def test_pacing_runs_every_contender_against_a_rate_limited_server() -> None:
    command = [sys.executable, "-m", "bench.pacing", "--quick", "--runs", "20"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    rows = [line for line in done.stdout.splitlines() if line.startswith("| ") and "of 20 |" in line]
    assert [row.split(" | ")[0] for row in rows] == [
        "| agentkit, paced",
        "| raw SDK loop, gather + semaphore of 50",
        "| agentkit, unpaced",
    ]
    assert rows[0].split(" | ")[1].startswith("0 (")  # paced: no 429


def test_batch_runs_the_inputs_live_and_through_batches() -> None:
    from bench import batch

    table = batch.main(["--inputs", "4", "--faults", "0.5"])
    assert "| live, `Agent.run` (5-minute cache) | - |" in table
    assert "| batch, 1-hour cache + warm-up (default) | 4 |" in table
