"""Checked by mypy in `make typecheck` (not collected by pytest): the public API's types as a user sees them."""

from __future__ import annotations

from typing import assert_type

from pydantic import BaseModel

from agentkit import Agent, RunResult


class City(BaseModel):
    name: str
    country: str


def typed_output() -> None:
    agent: Agent[City] = Agent(model="claude-sonnet-4-6", output_type=City)
    result = agent.run_sync("The capital of France?")
    assert_type(result, RunResult[City])
    assert_type(result.output, City)


def inferred_from_the_output_type() -> None:
    agent = Agent(model="claude-sonnet-4-6", output_type=City)
    assert_type(agent.run_sync("?").output, City)


def text_output_by_default() -> None:
    agent = Agent(model="claude-sonnet-4-6")
    assert_type(agent.run_sync("Hello").output, str)


class Support(Agent[City]):
    model = "claude-sonnet-4-6"


async def subclassed() -> None:
    result = await Support().run("?")
    assert_type(result.output, City)


async def extracted() -> None:
    number = await Agent(model="claude-sonnet-4-6").extract(int, "How many?")
    assert_type(number, int)
