"""The pure translations of agentkit.mcp: names, schemas and results, on plain data."""

from __future__ import annotations

import pytest
from mcp_types import (
    AudioContent,
    BlobResourceContents,
    EmbeddedResource,
    ImageContent,
    ResourceLink,
    TextContent,
)

from agentkit.mcp._convert import api_name, check_arguments, error_message, input_schema, make_validator, to_content


@pytest.mark.parametrize(
    ("prefix", "name", "expected"),
    [(None, "read_file", "read_file"), ("fs_", "read.file", "fs_read_file"), (None, "a/b c", "a_b_c")],
)
def test_names_become_valid_for_the_messages_api(prefix: str | None, name: str, expected: str) -> None:
    assert api_name(prefix, name) == expected
    assert len(api_name("p", "x" * 200)) == 128


def test_a_schema_is_always_an_object_schema() -> None:
    assert input_schema(None) == {"type": "object", "properties": {}}
    assert input_schema({"properties": {"a": {"type": "string"}}})["type"] == "object"


def test_argument_errors_name_each_field() -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer", "minimum": 1}}, "required": ["n"]}
    validator = make_validator(schema)
    assert check_arguments(validator, {"n": 3}, "count") is None
    assert check_arguments(validator, {"n": 0}, "count") == (
        "Invalid arguments for tool 'count':\n- n: 0 is less than the minimum of 1\nFix these and call the tool again."
    )


def test_content_the_api_cannot_take_is_described_in_words() -> None:
    audio = AudioContent(type="audio", data="AAAA", mime_type="audio/wav")
    bmp = ImageContent(type="image", data="AAAA", mime_type="image/bmp")
    link = ResourceLink(type="resource_link", uri="file:///a.txt", name="a.txt", description="The a file")
    blob = EmbeddedResource(
        type="resource", resource=BlobResourceContents(uri="file:///x.bin", blob="AAAA", mime_type="application/zip")
    )
    png = EmbeddedResource(
        type="resource", resource=BlobResourceContents(uri="file:///x.png", blob="AAAA", mime_type="image/png")
    )
    assert to_content([audio, bmp, link, blob, png], None) == [
        {"type": "text", "text": "[audio (audio/wav) omitted: the Messages API takes no audio]"},
        {"type": "text", "text": "[image of type image/bmp omitted: the API takes jpeg, png, gif and webp]"},
        {"type": "text", "text": "[resource link a.txt <file:///a.txt>: The a file]"},
        {"type": "text", "text": "[binary resource file:///x.bin (application/zip) omitted]"},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"}},
    ]


def test_structured_content_is_sent_as_json_only_when_there_is_no_text() -> None:
    assert to_content([], {"celsius": 18}) == '{"celsius": 18}'
    assert to_content([TextContent(type="text", text="18 degrees")], {"celsius": 18}) == "18 degrees"
    assert to_content([], None) == ""


def test_an_error_result_without_text_still_says_something() -> None:
    assert error_message([], None, "lookup") == "MCP tool 'lookup' reported an error without a message."
    assert error_message([], {"code": 7}, "lookup") == '{"code": 7}'
