"""`agentkit batch SPEC INPUT.jsonl -o OUTPUT.jsonl`: a line per input, progress on stderr, --resume."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from batch_task import three_turns
from click.testing import CliRunner

from agentkit.batch import JobStore
from agentkit.cli import main
from agentkit.testing import MessagesServer

if TYPE_CHECKING:
    from conftest import Files  # the fixture's type (tests/conftest.py)

SPEC = """
name: geo
model: claude-haiku-4-5
system: "You know {{ region }}."
vars: {region: the world}
tools: [geo_tools:lookup, geo_tools:population]
"""
TOOLS = '''
import os
from pathlib import Path


def lookup(city: str) -> str:
    """The country a city is in."""
    if log := os.environ.get("TOOL_LOG"):
        with Path(log).open("a") as f:
            f.write(f"lookup {city}\\n")
    return f"{city} is in Examplestan"


def population(city: str) -> int:
    """How many people live in a city."""
    if log := os.environ.get("TOOL_LOG"):
        with Path(log).open("a") as f:
            f.write(f"population {city}\\n")
    return 1000 + len(city)
'''
INPUT = [{"id": "a", "prompt": "About A"}, {"id": "b", "vars": {"city": "B", "region": "Examplestan"}}]


def _invoke(server: MessagesServer, root: Path, *args: str) -> tuple[int, str, str]:
    env = {
        "ANTHROPIC_BASE_URL": server.url,
        "ANTHROPIC_API_KEY": "sk-ant-test",
        "AGENTKIT_SESSIONS": str(root / "s.db"),
    }
    result = CliRunner().invoke(main, ["batch", *args], env=env, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def _write_files(files: Files) -> Path:
    files.write("geo.yaml", SPEC)
    files.write("geo_tools.py", TOOLS)
    return files.write("in.jsonl", "".join(json.dumps(line) + "\n" for line in INPUT))


def test_the_cli_runs_every_line_and_writes_the_results_in_input_order(
    files: Files, messages_server: MessagesServer
) -> None:
    _write_files(files)
    messages_server.respond_with(three_turns)

    code, _, stderr = _invoke(
        messages_server,
        files.root,
        "geo.yaml",
        "in.jsonl",
        "-o",
        "out.jsonl",
        "--prompt",
        "About {{ city }}",
        "--poll",
        "0.001",
    )

    assert code == 0, stderr
    lines = [json.loads(line) for line in (files.root / "out.jsonl").read_text().splitlines()]
    assert [(line["id"], line["output"], line["error"]) for line in lines] == [
        ("a", "A: A is in Examplestan; 1001", None),
        ("b", "B: B is in Examplestan; 1001", None),
    ]
    assert lines[0]["usage"]["requests"] == 3
    assert lines[0]["usage"]["cost_usd"] > 0
    assert "You know Examplestan." in str(messages_server.batches.requests[1].system)
    assert "runs: 2/2 done, 0 failed" in stderr
    assert "done: 2 succeeded, 0 failed, 3 batches" in stderr
    assert len(messages_server.batches.submissions) == 3


def test_a_bad_line_exits_2_naming_it_before_anything_is_sent(files: Files, messages_server: MessagesServer) -> None:
    _write_files(files)

    code, _, stderr = _invoke(messages_server, files.root, "geo.yaml", "in.jsonl", "-o", "out.jsonl")

    assert code == 2
    assert "in.jsonl:2: no prompt; give the line a prompt, or pass --prompt TEMPLATE" in stderr
    assert messages_server.batches.submissions == []


def test_a_killed_job_resumes_with_resume_and_submits_nothing_twice(files: Files, tmp_path: Path) -> None:
    _write_files(files)
    log = tmp_path / "tools.log"
    with MessagesServer(three_turns) as server:
        server.batches.processing_delay = math.inf  # each batch waits for release()
        env = {
            **os.environ,
            "ANTHROPIC_BASE_URL": server.url,
            "ANTHROPIC_API_KEY": "sk-ant-test",
            "AGENTKIT_SESSIONS": str(tmp_path / "s.db"),
            "TOOL_LOG": str(log),
        }
        args = ["batch", "geo.yaml", "in.jsonl", "-o", "out.jsonl", "--prompt", "About {{ city }}"]
        command = [sys.executable, "-m", "agentkit", *args, "--job-id", "job-7", "--poll", "0.01", "-q"]
        child = subprocess.Popen(command, env=env, cwd=files.root)
        try:
            _wait(lambda: len(server.batches.submissions) == 1, child)
            server.batches.release()  # turn 1 answered; its tools run; turn 2 is submitted and held
            # Killed once the job file names batch 2 (a kill between the API creating a batch and the
            # job saving its id would leave that batch unknown to the resumed job).
            _wait(lambda: len(_saved_batches(tmp_path / "batches.sqlite3")) == 2, child)
        finally:
            child.kill()  # SIGKILL, with batch 2 in flight
            child.wait()
        server.batches.processing_delay = 0
        server.batches.release()

        os.environ["TOOL_LOG"] = str(log)
        try:
            code, _, stderr = _invoke(server, tmp_path, "--resume", "job-7", "--poll", "0.001")
        finally:
            del os.environ["TOOL_LOG"]

        assert code == 0, stderr
        assert len(server.batches.submissions) == 3  # batch 2 was re-attached to, not sent again
        assert max(Counter(server.batches.submitted).values()) == 1
    lines = [json.loads(line) for line in (files.root / "out.jsonl").read_text().splitlines()]
    assert [line["output"] for line in lines] == ["A: A is in Examplestan; 1001", "B: B is in Examplestan; 1001"]
    assert sorted(log.read_text().splitlines()) == ["lookup A", "lookup B", "population A", "population B"]


def _saved_batches(path: Path, job: str = "job-7") -> list[str]:
    store = JobStore(path)
    try:
        return store.batches(job)
    finally:
        store.close()


def _wait(condition: object, child: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while not condition():  # type: ignore[operator]
        assert child.poll() is None, "the job ended before it was killed"
        assert time.monotonic() < deadline, "the job never got there"
        time.sleep(0.02)


def test_the_help_in_the_docs_is_the_real_help() -> None:
    page = (Path(__file__).resolve().parents[2] / "docs" / "batch.md").read_text(encoding="utf-8")
    real = CliRunner().invoke(main, ["batch", "--help"], terminal_width=100).stdout
    assert f"```text\n$ agentkit batch --help\n{real}```\n" in page


@pytest.mark.agentkit_allow_rejected
def test_a_failed_line_is_written_with_its_error_and_the_exit_code_is_1(
    files: Files, messages_server: MessagesServer
) -> None:
    _write_files(files)
    blank = [{"role": "user", "content": [{"type": "text", "text": " "}]}, {"role": "assistant", "content": "ok"}]
    lines = [{"id": "a", "prompt": "About A"}, {"id": "bad", "prompt": "About B", "history": blank}]
    files.write("in.jsonl", "".join(json.dumps(line) + "\n" for line in lines))
    messages_server.respond_with(three_turns)

    code, _, _ = _invoke(
        messages_server, files.root, "geo.yaml", "in.jsonl", "-o", "out.jsonl", "--poll", "0.001", "-q"
    )

    assert code == 1
    good, bad = [json.loads(line) for line in (files.root / "out.jsonl").read_text().splitlines()]
    assert (good["output"], good["error"]) == ("A: A is in Examplestan; 1001", None)
    assert bad["output"] is None
    assert bad["error"]["type"] == "APIError"
    assert "invalid_request_error" in bad["error"]["message"]


def test_ctrl_c_exits_130_and_the_job_resumes(files: Files, tmp_path: Path) -> None:
    _write_files(files)
    with MessagesServer(three_turns) as server:
        server.batches.processing_delay = math.inf
        env = {
            **os.environ,
            "ANTHROPIC_BASE_URL": server.url,
            "ANTHROPIC_API_KEY": "sk-ant-test",
            "AGENTKIT_SESSIONS": str(tmp_path / "s.db"),
        }
        args = ["batch", "geo.yaml", "in.jsonl", "-o", "out.jsonl", "--prompt", "About {{ city }}", "--job-id", "job-8"]
        child = subprocess.Popen(
            [sys.executable, "-m", "agentkit", *args, "--poll", "0.01"], env=env, cwd=files.root, stderr=subprocess.PIPE
        )
        try:
            _wait(lambda: len(_saved_batches(tmp_path / "batches.sqlite3", "job-8")) == 1, child)
            child.send_signal(signal.SIGINT)
            _, stderr = child.communicate(timeout=30)
        finally:
            child.kill()
        assert child.returncode == 130
        assert "Interrupted; the job is saved: agentkit batch --resume job-8" in stderr.decode()
        server.batches.processing_delay = 0
        server.batches.release()

        code, _, _ = _invoke(server, tmp_path, "--resume", "job-8", "--poll", "0.001", "-q")

        assert code == 0
        assert len(server.batches.submissions) == 3
