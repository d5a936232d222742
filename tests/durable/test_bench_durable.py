"""bench/durable.py runs (SQLite only, two runs of each kind); `make bench` measures."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_durable_bench_reports_plain_and_durable_runs() -> None:
    command = [sys.executable, "-m", "bench.durable", "--quick", "--runs", "2"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert any(line.startswith("| SQLite | ") for line in done.stdout.splitlines()), done.stdout
