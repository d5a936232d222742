"""Across machines: two `agentkit worker`s on one Postgres; one dies mid-run, the other finishes it.

Needs Debian's `postgresql` (scripts/postgres.py installs it if missing and starts a throwaway
cluster); run by `make test-postgres` and `make test-all`, not by `make test`.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agentkit.testing import MessagesServer

from .helpers import Fifo, ShopModel, effects

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

ROOT = Path(__file__).parents[2]


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    spec = importlib.util.spec_from_file_location("agentkit_postgres", ROOT / "scripts" / "postgres.py")
    assert spec is not None
    assert spec.loader is not None
    module: Any = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with module.throwaway_cluster() as url:
        yield url


def _worker(url: str, env: dict[str, str]) -> subprocess.Popen[str]:
    argv = ["-m", "agentkit", "worker", "tests.durable.child", "-d", url]
    argv += ["--heartbeat", "0.1", "--dead-after", "1", "--poll", "0.05"]
    return subprocess.Popen(
        [sys.executable, *argv], cwd=ROOT, env={**os.environ, **env}, stderr=subprocess.PIPE, text=True
    )


def test_a_run_whose_worker_dies_is_finished_by_the_other_worker(postgres_url: str, tmp_path: Path, fifo: Fifo) -> None:
    from agentkit.durable import submit

    with MessagesServer(ShopModel()) as server:
        env = {"SERVER_URL": server.url, "WORK": str(tmp_path), "HOLD": "lookup"}
        workers = [_worker(postgres_url, env)]
        try:
            run_id = submit("shop", "Charge order A-1 for its kettle.", database=postgres_url)
            held_by = int(fifo.wait_line().split()[1])  # the worker that took the run, inside `lookup`
            # The second worker starts once the first has set the database up and holds the run:
            # two first-time start-ups at once race on creating DBOS's tables.
            workers.append(_worker(postgres_url, env))
            (victim,) = [w for w in workers if w.pid == held_by]
            victim.kill()
            victim.wait()

            finished = _finished(run_id, postgres_url, workers[1])
            requests = len(server.requests)
        finally:
            for worker in workers:
                worker.terminate()
            for worker in workers:
                worker.wait(timeout=30)

    assert finished.output == "Done: charged 40 EUR for A-1"
    assert finished.usage.requests == 3
    assert requests == 3  # the first model call came back from its step on the second worker
    assert effects(tmp_path) == [
        "lookup A-1 start",  # on the worker that died
        "lookup A-1 start",  # idempotent, so the survivor ran it again
        "lookup A-1 done",
        "charge A-1 40 start",
        "charge A-1 40 done",
    ]


def _finished(run_id: str, url: str, survivor: subprocess.Popen[str]) -> Any:
    """The run's result, failing (with the survivor's stderr) if the surviving worker exits, rather
    than waiting for ever."""
    import threading
    import time

    from agentkit.durable import result

    got: list[Any] = []
    waiter = threading.Thread(target=lambda: got.append(result(run_id, database=url)), daemon=True)
    waiter.start()
    deadline = time.monotonic() + 120
    while waiter.is_alive():
        if survivor.poll() is not None:
            stderr = survivor.stderr.read() if survivor.stderr else ""
            pytest.fail(f"the surviving worker exited with {survivor.returncode}:\n{stderr[-3000:]}")
        if time.monotonic() > deadline:
            pytest.fail("the surviving worker did not finish the run within 120 s")
        waiter.join(0.1)
    return got[0]
