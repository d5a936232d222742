"""Typed output through a forced tool_choice (or native structured output), validated and retried."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

import pytest
from pydantic import BaseModel, Field

from agentkit import Agent, OutputValidationError
from agentkit.testing import MessagesServer, Reply, Request, text, tool_use

pytestmark = pytest.mark.anyio


class Priority(StrEnum):
    low = "low"
    high = "high"


class Address(BaseModel):
    city: str
    postcode: str | None = None


class Cat(BaseModel):
    kind: Literal["cat"]
    indoor: bool


class Dog(BaseModel):
    kind: Literal["dog"]
    breed: str


class Ticket(BaseModel):
    """A support ticket extracted from an email."""

    title: Annotated[str, Field(min_length=3, max_length=60)]
    priority: Priority
    tags: list[str]
    address: Address | None = None
    pet: Annotated[Cat | Dog, Field(discriminator="kind")]


GOOD = {
    "title": "Kettle leaks",
    "priority": "high",
    "tags": ["kettle"],
    "address": {"city": "Leeds"},
    "pet": {"kind": "dog", "breed": "corgi"},
}


async def test_output_type_forces_the_output_tool_and_returns_a_validated_instance(
    messages_server: MessagesServer,
) -> None:
    messages_server.script(Reply(content=[tool_use("final_result", GOOD)]))
    agent = Agent(model="claude-sonnet-4-6", output_type=Ticket, client=messages_server.client())

    result = await agent.run("My kettle leaks! (Leeds, I own a corgi)")

    assert result.output == Ticket.model_validate(GOOD)
    assert isinstance(result.output.pet, Dog)
    body = messages_server.requests[0].body
    assert body["tool_choice"] == {"type": "tool", "name": "final_result"}
    [output_tool] = body["tools"]
    assert output_tool["input_schema"]["properties"]["priority"] == {"$ref": "#/$defs/Priority"}
    assert "A support ticket extracted from an email." in output_tool["description"]
    assert result.messages[-1]["role"] == "user"  # the output call is answered: the history stays valid


async def test_a_validation_failure_goes_back_with_field_errors_and_the_retry_succeeds(
    messages_server: MessagesServer,
) -> None:
    bad = {**GOOD, "title": "no", "priority": "urgent"}
    messages_server.script(
        Reply(content=[tool_use("final_result", bad)]), Reply(content=[tool_use("final_result", GOOD)])
    )
    agent = Agent(model="claude-sonnet-4-6", output_type=Ticket, client=messages_server.client())

    result = await agent.run("My kettle leaks!")

    assert result.output.title == "Kettle leaks"
    [error] = messages_server.requests[1].tool_results
    assert error["is_error"] is True
    assert "- title: String should have at least 3 characters" in error["content"]
    assert "- priority: Input should be 'low' or 'high'" in error["content"]


async def test_retries_exhausted_raise_with_every_attempt(messages_server: MessagesServer) -> None:
    messages_server.script(*[Reply(content=[tool_use("final_result", {"title": f"t{i}"})]) for i in range(3)])
    agent = Agent(model="claude-sonnet-4-6", output_type=Ticket, client=messages_server.client())

    with pytest.raises(OutputValidationError) as caught:
        await agent.run("?")

    error = caught.value
    assert [a.answer for a in error.attempts] == [{"title": "t0"}, {"title": "t1"}, {"title": "t2"}]
    assert all("priority: Field required" in a.errors for a in error.attempts)
    assert len(messages_server.requests) == 3  # output_retries=2: one try and two retries
    assert error.messages[-1]["content"][0]["is_error"] is True  # every tool_use answered


async def test_extract_returns_the_object_and_wraps_types_that_are_not_objects(
    messages_server: MessagesServer,
) -> None:
    messages_server.script(
        Reply(
            content=[tool_use("final_result", {"result": [{"city": "Oslo"}, {"city": "Rome", "postcode": "00100"}]})]
        ),
        Reply(content=[tool_use("final_result", {"result": 42})]),
    )
    agent = Agent(model="claude-sonnet-4-6", client=messages_server.client())

    cities = await agent.extract(list[Address], "Cities in: I flew Oslo to Rome 00100")
    answer = await agent.extract(int, "6 times 7?")

    assert cities == [Address(city="Oslo"), Address(city="Rome", postcode="00100")]
    assert answer == 42
    schema = messages_server.requests[1].body["tools"][0]["input_schema"]
    assert schema == {"type": "object", "properties": {"result": {"type": "integer"}}, "required": ["result"]}


async def test_the_output_tool_coexists_with_tools_the_model_calls_first(messages_server: MessagesServer) -> None:
    def lookup_city(postcode: str) -> str:
        """The city of a postcode."""
        return "Leeds"

    messages_server.script(
        Reply(content=[tool_use("lookup_city", {"postcode": "LS1"})]),
        Reply(content=[tool_use("final_result", {"city": "Leeds", "postcode": "LS1"})]),
    )
    agent = Agent(model="claude-sonnet-4-6", tools=[lookup_city], output_type=Address, client=messages_server.client())

    result = await agent.run("Where is LS1?")

    assert result.output == Address(city="Leeds", postcode="LS1")
    assert messages_server.requests[0].body["tool_choice"] == {"type": "any"}
    assert messages_server.requests[1].tool_results[0]["content"] == "Leeds"


async def test_with_thinking_the_output_tool_is_asked_for_not_forced(messages_server: MessagesServer) -> None:
    def model(request: Request) -> Reply:
        if len(request.messages) == 1:
            return Reply(content=[text("It is in Leeds.")])  # answers in prose first
        return Reply(content=[tool_use("final_result", {"city": "Leeds"})])

    messages_server.respond_with(model)
    agent = Agent(
        model="claude-sonnet-4-6",
        output_type=Address,
        thinking={"type": "enabled", "budget_tokens": 1024},
        max_tokens=2048,
        client=messages_server.client(),
    )

    result = await agent.run("Where is LS1?")

    assert result.output == Address(city="Leeds")
    first, second = messages_server.requests
    assert "tool_choice" not in first.body
    assert "give it by calling the `final_result` tool" in first.system
    assert "by calling the `final_result` tool" in second.messages[-1]["content"][0]["text"]


async def test_native_mode_uses_structured_output_and_retries_invalid_json(messages_server: MessagesServer) -> None:
    messages_server.script(Reply.text('{"city": 7}'), Reply.text('{"city": "Leeds"}'))
    agent = Agent(model="claude-sonnet-4-6", output_type=Address, output_mode="native", client=messages_server.client())

    result = await agent.run("Where is LS1?")

    assert result.output == Address(city="Leeds")
    output_format = messages_server.requests[0].body["output_config"]["format"]
    assert output_format["type"] == "json_schema"
    assert output_format["schema"]["additionalProperties"] is False
    assert "- city: Input should be a valid string" in messages_server.requests[1].messages[-1]["content"][0]["text"]
