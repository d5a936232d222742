"""A declarative agent: a subclass with tools as methods, and dependencies through RunContext.

Run it: `python examples/support.py` (offline without ANTHROPIC_API_KEY, against Claude with it).
"""

from __future__ import annotations

from dataclasses import dataclass

import anyio

from agentkit import Agent, RunContext, ToolError, tool
from agentkit.testing import Reply, Request, tool_use

try:
    from _runner import model_client, show
except ImportError:  # imported as examples.support
    from examples._runner import model_client, show


@dataclass
class Orders:
    """The application's order store, handed to tools as deps."""

    status: dict[str, str]


class Support(Agent):
    model = "claude-sonnet-4-6"
    system = "You are the support desk of {{ shop }}. Be brief. Look orders up before answering."
    vars = {"shop": "Acme Kettles"}  # noqa: RUF012
    max_turns = 5

    @tool
    def order_status(self, ctx: RunContext[Orders], order_id: str) -> str:
        """Look up the status of an order.

        Args:
            order_id: The order number, for example "A-1001".
        """
        try:
            return ctx.deps.status[order_id]
        except KeyError:
            raise ToolError(f"No order {order_id}. Ask the customer to check the number.") from None


def scripted_model(request: Request) -> Reply:
    """Offline stand-in for Claude: look the order up, then answer from the tool result."""
    if not request.tool_results:
        return Reply(content=[tool_use("order_status", {"order_id": "A-1001"})])
    return Reply.text(f"Your order A-1001 is {request.tool_results[0]['content']}.")


async def main() -> None:
    orders = Orders(status={"A-1001": "shipped, arriving Thursday"})
    with model_client(scripted_model) as client:
        agent = Support(client=client)
        result = await agent.run("Where is my order A-1001?", deps=orders)
        show("support: a subclass agent with a method tool and deps", result)


if __name__ == "__main__":
    anyio.run(main)
