"""An inline `output:` schema becomes a pydantic model that validates what the schema says."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from agentkit._spec.json_schema import SchemaProblem, model_from_schema

TICKET: dict[str, Any] = {
    "type": "object",
    "description": "A support ticket.",
    "properties": {
        "order-id": {"type": "string", "pattern": "^[A-Z]-\\d+$"},
        "priority": {"enum": ["low", "urgent"], "description": "How soon"},
        "count": {"type": "integer", "minimum": 1, "maximum": 9},
        "score": {"type": ["number", "null"]},
        "tags": {"type": "array", "items": {"type": "string", "maxLength": 5}, "maxItems": 2},
        "customer": {
            "type": "object",
            "properties": {"name": {"type": "string"}, "vip": {"type": "boolean", "default": False}},
            "required": ["name"],
            "additionalProperties": False,
        },
        "extra": {"type": "object"},
        "json": {"type": "string"},
    },
    "required": ["order-id", "priority"],
}


def test_a_valid_answer_validates_with_its_names_kept() -> None:
    model = model_from_schema(TICKET, "TicketOutput")
    answer = {
        "order-id": "A-1",
        "priority": "urgent",
        "count": 3,
        "score": None,
        "tags": ["a", "b"],
        "customer": {"name": "Dana"},
        "extra": {"anything": [1]},
        "json": "{}",
    }

    value = model.model_validate(answer)

    assert model.__name__ == "TicketOutput"
    assert model.__doc__ == "A support ticket."
    assert value.model_dump(by_alias=True) == {**answer, "customer": {"name": "Dana", "vip": False}}
    schema = model.model_json_schema()
    assert schema["required"] == ["order-id", "priority"]
    assert schema["properties"]["priority"]["description"] == "How soon"


@pytest.mark.parametrize(
    ("answer", "field"),
    [
        ({"order-id": "A1", "priority": "low"}, "order-id"),
        ({"order-id": "A-1", "priority": "high"}, "priority"),
        ({"order-id": "A-1", "priority": "low", "count": 10}, "count"),
        ({"order-id": "A-1", "priority": "low", "tags": ["toolong"]}, "tags.0"),
        ({"order-id": "A-1", "priority": "low", "tags": ["a", "b", "c"]}, "tags"),
        ({"order-id": "A-1", "priority": "low", "customer": {"name": "x", "age": 3}}, "customer.age"),
        ({"priority": "low"}, "order-id"),
    ],
)
def test_what_the_schema_forbids_fails_validation(answer: dict[str, Any], field: str) -> None:
    model = model_from_schema(TICKET, "TicketOutput")

    with pytest.raises(ValidationError) as caught:
        model.model_validate(answer)
    assert [".".join(map(str, e["loc"])) for e in caught.value.errors()] == [field]


@pytest.mark.parametrize(
    ("schema", "loc", "message"),
    [
        ({"type": "string"}, (), "an inline output schema is an object: give `type: object` and `properties:`"),
        ({"type": "object", "properties": {"a": {"anyOf": []}}}, ("properties", "a", "anyOf"), "'anyOf' is not"),
        ({"type": "object", "properties": {"a": {"type": "date"}}}, ("properties", "a", "type"), "unknown type 'date'"),
        ({"type": "object", "properties": {"a": {}}}, ("properties", "a"), "give a `type` (one of: string,"),
        ({"type": "object", "properties": {"a": {"enum": []}}}, ("properties", "a", "enum"), "`enum` is a non-empty"),
        ({"type": "object", "properties": {"a": {"type": "string"}}, "required": ["b"]}, ("required",), "'b' is"),
        ({"type": "object", "properties": {"a": {"$ref": "#/x"}}}, ("properties", "a", "$ref"), "'$ref' is not"),
        ({"type": "object", "properties": {"a": "string"}}, ("properties", "a"), "a schema is a mapping"),
    ],
)
def test_what_is_not_understood_is_refused_by_name(schema: dict[str, Any], loc: tuple[str, ...], message: str) -> None:
    with pytest.raises(SchemaProblem) as caught:
        model_from_schema(schema, "Output")

    assert caught.value.loc == loc
    assert caught.value.message.startswith(message)
