"""Helpers of the durable suite: the scripted shop model, child processes, a fifo, what they recorded."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentkit.testing import Fault, Reply, Request, text, tool_use

HERE = Path(__file__).parent


def tool_results(request: Request) -> list[dict[str, Any]]:
    return [b for m in request.messages for b in m["content"] if isinstance(b, dict) and b["type"] == "tool_result"]


def _result_text(block: dict[str, Any]) -> str:
    content = block["content"]
    return content if isinstance(content, str) else "".join(part.get("text", "") for part in content)


@dataclass
class ShopModel:
    """Looks order A-1 up, charges it, then says so, all decided from the history (so a recovered
    run picks up where it is). `hang_at` makes that request hang after setting `hanging`."""

    amount: int = 40
    hang_at: int | None = None
    hanging: threading.Event = field(default_factory=threading.Event)
    seen: int = 0

    def __call__(self, request: Request) -> Reply | Fault:
        self.seen += 1
        if self.seen == self.hang_at:
            self.hanging.set()
            return Fault.hang(120)
        results = tool_results(request)
        if not results:
            return Reply(content=[text("Looking it up."), tool_use("lookup", {"order": "A-1"})])
        if len(results) == 1:
            return Reply(content=[tool_use("charge", {"order": "A-1", "amount": self.amount})])
        return Reply.text(f"Done: {_result_text(results[-1])}")


class Child:
    """`child.py` in a subprocess: started, killed with SIGKILL, or waited for its printed result."""

    def __init__(self, mode: str, run_id: str, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(HERE / "child.py"), mode, run_id],
            env={**os.environ, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()

    def result(self, timeout: float = 60) -> dict[str, Any]:
        out, err = self.process.communicate(timeout=timeout)
        assert self.process.returncode == 0, f"child failed ({self.process.returncode}):\n{err}"
        parsed: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
        return parsed


class Fifo:
    """A named pipe the test reads: a child's tool writes to it when it started (no polling)."""

    def __init__(self, path: Path) -> None:
        os.mkfifo(path)
        self.fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)

    def wait_line(self, timeout: float = 60) -> str:
        readable, _, _ = select.select([self.fd], [], [], timeout)
        assert readable, f"nothing arrived on the fifo within {timeout} s"
        return os.read(self.fd, 4096).decode()

    def close(self) -> None:
        os.close(self.fd)


def effects(work: Path) -> list[str]:
    path = work / "effects"
    return path.read_text().splitlines() if path.exists() else []


def spans(work: Path) -> list[dict[str, Any]]:
    path = work / "spans.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
