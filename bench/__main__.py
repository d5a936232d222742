"""`python -m bench [--quick]`: every benchmark in turn, as one Markdown report (what `make bench` runs)."""

from __future__ import annotations

import contextlib
import os
import platform
import subprocess
import sys
from importlib import metadata

from bench import account, agent_loop, batch, cost, durable, history, pacing, sessions, startup


def machine() -> str:
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        cpu = next(line.split(":", 1)[1].strip() for line in lscpu.splitlines() if line.startswith("Model name"))
    except (OSError, subprocess.CalledProcessError, StopIteration):
        cpu = platform.processor() or "unknown CPU"
    versions = []
    for package in ("anthropic", "httpx2", "pydantic", "pydantic-ai-slim"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions.append(f"{package} {metadata.version(package)}")
    return (
        f"{cpu}, {os.cpu_count()} cores; {platform.system()} {platform.release()}; "
        f"Python {platform.python_version()}; {', '.join(versions)}"
    )


def main() -> None:
    quick = ["--quick"] if "--quick" in sys.argv[1:] else []
    print(f"# agentkit benchmarks\n\nMachine: {machine()}\n", flush=True)
    for bench in (agent_loop, startup, history, cost, sessions, pacing, durable, batch):
        bench.main(quick)
        print(flush=True)
    account.main(["--runs", "100" if quick else "1000"])


if __name__ == "__main__":
    main()
