"""A functional agent: two typed tools, called in parallel, and a Jinja system prompt.

Run it: `python examples/weather.py` (offline without ANTHROPIC_API_KEY, against Claude with it).
"""

from __future__ import annotations

import datetime
import json
import re
from typing import Literal

import anyio

from agentkit import Agent
from agentkit.testing import Reply, Request, tool_use

try:
    from _runner import model_client, show
except ImportError:  # imported as examples.weather
    from examples._runner import model_client, show

FORECASTS = {"paris": (18, "light rain"), "tokyo": (24, "clear"), "oslo": (4, "snow")}


def get_weather(city: str, unit: Literal["celsius", "fahrenheit"] = "celsius") -> dict[str, object]:
    """The current weather in a city.

    Args:
        city: The city's name, for example "Paris".
        unit: The unit of the temperature.
    """
    celsius, sky = FORECASTS.get(city.lower(), (15, "overcast"))
    temperature = celsius if unit == "celsius" else round(celsius * 9 / 5 + 32)
    return {"city": city, "temperature": temperature, "unit": unit, "sky": sky}


def weather_agent() -> Agent:
    return Agent(
        name="weather",
        model="claude-haiku-4-5",
        system="You are a concise weather assistant. Today is {{ today }}. Use the tools; never guess.",
        tools=[get_weather],
        max_tokens=1024,
    )


def scripted_model(request: Request) -> Reply:
    """Offline stand-in for Claude: ask for every city named, then summarise the results."""
    if not request.tool_results:
        cities = re.findall(r"\b(Paris|Tokyo|Oslo)\b", request.last_user_text)
        return Reply(content=[tool_use("get_weather", {"city": c}) for c in cities])
    reports = [json.loads(r["content"]) for r in request.tool_results]
    return Reply.text("; ".join(f"{r['city']}: {r['temperature']}°C, {r['sky']}" for r in reports) + ".")


async def main() -> None:
    with model_client(scripted_model) as client:
        agent = weather_agent()
        with agent.override(client=client):
            result = await agent.run("What's the weather in Paris and Tokyo?", vars={"today": datetime.date.today()})
        show("weather: a functional agent with parallel tool calls", result)


if __name__ == "__main__":
    anyio.run(main)
