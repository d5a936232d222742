"""Fixtures of the durable suite: DBOS on a temporary SQLite file, a fifo for children to signal on."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("dbos")

from .helpers import Fifo


@pytest.fixture
def durable_db(tmp_path: Path) -> Iterator[Callable[..., Any]]:
    """`launch(**kwargs)` on a fresh SQLite file; DBOS is shut down and the agents forgotten after."""
    from agentkit.durable import _engine, launch, shutdown

    _engine._agents.clear()

    def start(**kwargs: Any) -> Any:
        return launch(tmp_path / "durable.sqlite", polling_interval=0.05, **kwargs)

    try:
        yield start
    finally:
        shutdown()
        _engine._agents.clear()


@pytest.fixture
def fifo(tmp_path: Path) -> Iterator[Fifo]:
    pipe = Fifo(tmp_path / "started")
    yield pipe
    pipe.close()
