"""Typed extraction: a support email becomes a validated `Ticket`, retried until it validates.

Run it: `python examples/extraction.py` (offline without ANTHROPIC_API_KEY, against Claude with it).
"""

from __future__ import annotations

from typing import Literal

import anyio
from pydantic import BaseModel, Field

from agentkit import Agent
from agentkit.testing import Reply, Request, tool_use

try:
    from _runner import model_client, show
except ImportError:  # imported as examples.extraction
    from examples._runner import model_client, show

EMAIL = """Hi, my order A-1001 arrived yesterday but the kettle leaks from the base.
I need it replaced before Friday, we have guests. - Dana (Leeds)"""


class Ticket(BaseModel):
    """A support ticket extracted from a customer email."""

    order_id: str = Field(pattern=r"^[A-Z]-\d{4}$", description="The order number, like A-1001")
    product: str
    problem: str
    priority: Literal["low", "normal", "urgent"]
    customer: str


def scripted_model(request: Request) -> Reply:
    """Offline stand-in for Claude: a first answer with a bad order id, then a corrected one."""
    answer = {
        "order_id": "A1001",
        "product": "kettle",
        "problem": "leaks from the base",
        "priority": "urgent",
        "customer": "Dana",
    }
    if request.tool_results:  # the validation error came back: fix the field it names
        answer["order_id"] = "A-1001"
    return Reply(content=[tool_use("final_result", answer)])


async def main() -> None:
    with model_client(scripted_model) as client:
        agent = Agent(model="claude-haiku-4-5", system="Extract a support ticket.", output_type=Ticket, client=client)
        result = await agent.run(EMAIL)
    show("extraction: typed output, validated and retried", result)


if __name__ == "__main__":
    anyio.run(main)
