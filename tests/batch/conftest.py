"""Fixtures of the batch tests: the job file of each test, and an agent with the task's tools."""

from __future__ import annotations

from pathlib import Path

import pytest
from batch_task import MODEL, lookup, population

from agentkit import Agent
from agentkit.batch import JobStore
from agentkit.testing import MessagesServer


@pytest.fixture
def store(tmp_path: Path) -> JobStore:
    return JobStore(tmp_path / "batches.sqlite3")


@pytest.fixture
def agent(messages_server: MessagesServer) -> Agent:
    return Agent(model=MODEL, tools=[lookup, population], client=messages_server.client())
