"""Start-up: `import agentkit`, `from agentkit import Agent` and `agentkit --help` against `import anthropic`.

    .venv/bin/python -m bench.startup
    .venv/bin/python -m bench.startup --repeats 21

Each is timed as a whole fresh process (interpreter start-up included, as a user waits for it), the
commands interleaved, several repeats, median. `python -c pass` is the interpreter alone, and
`import pydantic_ai` a peer's figure when it is installed.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import subprocess
import sys
import time
from pathlib import Path


def commands() -> dict[str, list[str]]:
    python = sys.executable
    cli = Path(python).parent / "agentkit"
    found = {
        "python -c pass": [python, "-c", "pass"],
        "import agentkit": [python, "-c", "import agentkit"],
        "from agentkit import Agent": [python, "-c", "from agentkit import Agent"],
        "agentkit --help": [str(cli), "--help"] if cli.exists() else [python, "-m", "agentkit", "--help"],
        "import anthropic": [python, "-c", "import anthropic"],
    }
    if importlib.util.find_spec("pydantic_ai") is not None:
        found["import pydantic_ai"] = [python, "-c", "import pydantic_ai"]
    return found


def timed(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(prog="python -m bench.startup", description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=11)
    parser.add_argument("--quick", action="store_true", help="3 repeats")
    args = parser.parse_args(argv)
    repeats = 3 if args.quick else args.repeats
    found = commands()
    for command in found.values():
        timed(command)  # warm the file cache and the bytecode
    times: dict[str, list[float]] = {name: [] for name in found}
    for _ in range(repeats):
        for name, command in found.items():
            times[name].append(timed(command))
    lines = ["| command | wall time, median (min-max) |", "|---|---|"]
    for name, values in times.items():
        lines.append(f"| `{name}` | {statistics.median(values):.3f} s ({min(values):.3f}-{max(values):.3f}) |")
    table = "\n".join(lines)
    print(f"## Start-up: fresh processes, {repeats} repeats\n\n{table}", flush=True)
    return table


if __name__ == "__main__":
    main()
