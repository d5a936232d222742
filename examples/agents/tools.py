"""Tools for the YAML agents in this folder: plain typed functions, named in a spec as `tools:name`.

A spec's folder is searched first when its tools are imported, so this module needs no package.
"""

from __future__ import annotations

from agentkit import ToolError

ORDERS = {"A-1001": "shipped, arriving Thursday", "A-1002": "out for delivery today", "B-2002": "being packed"}


def order_status(order_id: str) -> str:
    """Look up the status of an order.

    Args:
        order_id: The order number, for example "A-1001".
    """
    try:
        return ORDERS[order_id]
    except KeyError:
        raise ToolError(f"No order {order_id}. Ask the customer to check the number.") from None


def return_policy(product: str) -> str:
    """The return policy for a product.

    Args:
        product: The product's name, for example "kettle".
    """
    days = 60 if "kettle" in product.lower() else 30
    return f"A {product} can be returned within {days} days, unused, with its receipt."
