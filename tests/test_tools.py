"""Tools from typed functions: schemas, definition errors, validation, calling, results.

This file uses `from __future__ import annotations`, so every tool below is built from string
annotations, the case `typing.get_type_hints` must resolve.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import json
import threading
import warnings
from collections.abc import Callable
from typing import Annotated, Any, Literal

import anyio
import pytest
import structlog
from pydantic import BaseModel, Field, field_validator

from agentkit.errors import ToolDefinitionError, ToolError
from agentkit.tools import RunContext, Tool, ToolResult, tool
from agentkit.usage import Usage

pytestmark = pytest.mark.anyio


def make_ctx(deps: Any = None) -> RunContext[Any]:
    return RunContext(deps=deps, agent=None, usage=Usage(), messages=[], run_id="run-1", turn=1)  # type: ignore[arg-type]


class Location(BaseModel):
    lat: float
    lon: float
    title: str = "here"  # a property named `title` must survive the title stripping


class Unit(enum.Enum):
    CELSIUS = "celsius"
    FAHRENHEIT = "fahrenheit"


@dataclasses.dataclass
class Point:
    x: int
    y: int


class Opaque:
    """A plain class pydantic cannot describe."""


async def _echo(arguments: dict[str, Any], ctx: RunContext[Any]) -> Any:
    return arguments


def where(fn: Callable[..., Any]) -> str:
    return f"{__file__}:{fn.__code__.co_firstlineno}"


# --- schema ---------------------------------------------------------------------------------


def test_representative_schema_is_exact() -> None:
    @tool
    def get_weather(
        city: str,
        days: Annotated[int, Field(ge=1, le=7)] = 1,
        unit: Literal["c", "f"] = "c",
    ) -> str:
        """Get the weather forecast for a city.

        Args:
            city: The city, in English.
            days: How many days ahead.
            unit: Temperature unit.

        Returns:
            The forecast.
        """
        return city

    assert get_weather.to_param() == {
        "name": "get_weather",
        "description": "Get the weather forecast for a city.",
        "input_schema": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "The city, in English."},
                "days": {
                    "type": "integer",
                    "description": "How many days ahead.",
                    "default": 1,
                    "minimum": 1,
                    "maximum": 7,
                },
                "unit": {
                    "type": "string",
                    "enum": ["c", "f"],
                    "description": "Temperature unit.",
                    "default": "c",
                },
            },
            "required": ["city"],
            "additionalProperties": False,
        },
    }


def test_primitives_defaults_and_optional() -> None:
    @tool
    def f(s: str, i: int, x: float, b: bool, maybe: int | None, opt: str | None = None, n: int = 3) -> None:
        pass

    props = f.input_schema["properties"]
    assert [props[k]["type"] for k in ("s", "i", "x", "b")] == ["string", "integer", "number", "boolean"]
    assert props["maybe"] == {"anyOf": [{"type": "integer"}, {"type": "null"}]}
    assert props["opt"] == {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None}
    assert props["n"] == {"type": "integer", "default": 3}
    assert f.input_schema["required"] == ["s", "i", "x", "b", "maybe"]


def test_literal_enum_nested_models_and_lists() -> None:
    @tool
    def f(unit: Unit, where: Location, stops: list[Location], tags: list[str], mode: Literal["a", "b"]) -> None:
        pass

    schema = f.input_schema
    assert schema["properties"]["unit"] == {"$ref": "#/$defs/Unit"}
    assert schema["properties"]["where"] == {"$ref": "#/$defs/Location"}
    assert schema["properties"]["stops"] == {"type": "array", "items": {"$ref": "#/$defs/Location"}}
    assert schema["properties"]["tags"] == {"type": "array", "items": {"type": "string"}}
    assert schema["properties"]["mode"] == {"type": "string", "enum": ["a", "b"]}
    assert list(schema["$defs"]) == ["Location", "Unit"]
    assert schema["$defs"]["Unit"] == {"type": "string", "enum": ["celsius", "fahrenheit"]}
    assert schema["$defs"]["Location"]["properties"]["title"] == {"type": "string", "default": "here"}
    assert "title" not in json.dumps(schema).replace('"title": {', "")  # no generated titles anywhere


def test_annotated_field_description_beats_docstring_and_keeps_constraints() -> None:
    @tool
    def f(q: Annotated[str, Field(description="From Field.", min_length=2)], k: int) -> None:
        """Search.

        Args:
            q: From the docstring.
            k: Result count.
        """

    assert f.input_schema["properties"]["q"] == {
        "type": "string",
        "description": "From Field.",
        "minLength": 2,
    }
    assert f.input_schema["properties"]["k"]["description"] == "Result count."


def _google(city: str, days: int) -> None:
    """Forecast.

    Args:
        city (str): The city,
            in English.
        days: Days ahead.
    """


def _sphinx(city: str, days: int) -> None:
    """Forecast.

    :param str city: The city,
        in English.
    :param days: Days ahead.
    :returns: nothing
    """


def _numpy(city: str, days: int) -> None:
    """Forecast.

    Parameters
    ----------
    city : str
        The city,
        in English.
    days : int, optional
        Days ahead.

    Returns
    -------
    None
    """


@pytest.mark.parametrize("fn", [_google, _sphinx, _numpy], ids=["google", "sphinx", "numpy"])
def test_docstring_styles(fn: Callable[..., Any]) -> None:
    t = Tool(fn, name="forecast")
    assert t.description == "Forecast."
    assert t.input_schema["properties"]["city"]["description"] == "The city, in English."
    assert t.input_schema["properties"]["days"]["description"] == "Days ahead."


def test_name_and_description_overrides_and_no_docstring() -> None:
    @tool(name="lookup", description="Look it up.")
    def f(x: int) -> int:
        """Ignored for the description."""
        return x

    @tool()
    def bare() -> None:
        pass

    assert f.to_param()["name"] == "lookup"
    assert f.to_param()["description"] == "Look it up."
    assert bare.to_param() == {
        "name": "bare",
        "input_schema": {"type": "object", "properties": {}, "required": [], "additionalProperties": False},
    }


def test_eager_annotations_work_too() -> None:
    namespace: dict[str, Any] = {}
    source = "from agentkit.tools import RunContext\ndef f(ctx: RunContext, n: int = 2) -> int:\n    return n\n"
    exec(compile(source, "<eager>", "exec", dont_inherit=True), namespace)
    assert Tool(namespace["f"]).input_schema["properties"] == {"n": {"type": "integer", "default": 2}}


def test_types_defined_inside_a_function_resolve() -> None:
    class Local(BaseModel):
        v: int

    @tool
    def f(item: Local) -> int:
        return item.v

    assert f.input_schema["properties"]["item"] == {"$ref": "#/$defs/Local"}


def test_schema_is_deterministic_and_to_param_is_a_copy() -> None:
    def f(b: Location, a: Unit, c: list[Point]) -> None:
        pass

    first, second = Tool(f), Tool(f)
    assert json.dumps(first.to_param()) == json.dumps(second.to_param())
    first.to_param()["cache_control"] = {"type": "ephemeral"}
    assert "cache_control" not in first.to_param()


def test_parameters_shadowing_basemodel_attributes_work() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")

        @tool
        def f(schema: str, json: int, model_config: bool) -> str:
            return f"{schema}{json}{model_config}"

    assert list(f.input_schema["properties"]) == ["schema", "json", "model_config"]


# --- definition errors ----------------------------------------------------------------------


def test_missing_annotation() -> None:
    def get_weather(city, days: int) -> str:  # type: ignore[no-untyped-def]
        return ""

    with pytest.raises(ToolDefinitionError) as info:
        Tool(get_weather)
    assert str(info.value) == (
        f"Tool 'get_weather' ({where(get_weather)}): parameter 'city' has no type annotation; "
        "annotate it, e.g. `city: str`."
    )


@pytest.mark.parametrize("star", ["*args", "**kwargs"])
def test_var_args(star: str) -> None:
    namespace: dict[str, Any] = {}
    exec(f"def f(x: int, {star}: int) -> None: pass", namespace)
    with pytest.raises(ToolDefinitionError) as info:
        Tool(namespace["f"])
    assert str(info.value).startswith(f"Tool 'f' (<string>:1): parameter '{star}' cannot be a tool argument")
    assert "replace it with named parameters" in str(info.value)


@pytest.mark.parametrize("bad", ["Opaque", "Callable[[int], int]"])
def test_type_without_json_schema(bad: str) -> None:
    namespace: dict[str, Any] = {"Opaque": Opaque, "Callable": Callable}
    exec(f"def convert(x: int, thing: {bad}) -> None: pass", namespace)
    with pytest.raises(ToolDefinitionError) as info:
        Tool(namespace["convert"])
    message = str(info.value)
    assert message.startswith("Tool 'convert' (<string>:1): parameter 'thing' has type ")
    assert "cannot become a JSON schema" in message
    assert "use JSON-compatible types" in message


def test_invalid_name() -> None:
    fn = lambda x: x  # noqa: E731
    with pytest.raises(ToolDefinitionError) as info:
        tool(fn)
    assert str(info.value) == (
        f"Tool name '<lambda>' ({where(fn)}) must match ^[a-zA-Z0-9_-]{{1,128}}$; "
        "give it a valid name, e.g. @tool(name='lookup_order')."
    )
    with pytest.raises(ToolDefinitionError, match="'has space'"):
        Tool.from_schema("has space", "", {"type": "object"}, _echo)


def test_not_callable() -> None:
    with pytest.raises(ToolDefinitionError, match=r"Cannot make a tool from 42 \(int\): it is not callable"):
        tool(42)  # type: ignore[call-overload]


def test_unresolvable_annotation() -> None:
    def f(x: Missing) -> None:  # type: ignore[name-defined]  # noqa: F821
        pass

    with pytest.raises(ToolDefinitionError) as info:
        Tool(f)
    assert str(info.value).startswith(f"Tool 'f' ({where(f)}): cannot resolve an annotation")
    assert "'Missing' is not defined" in str(info.value)


# --- validation -----------------------------------------------------------------------------


async def test_validation_lists_every_bad_field() -> None:
    @tool
    def get_weather(city: str, days: Annotated[int, Field(le=7)], at: Location) -> str:
        return "sunny"

    result = await get_weather.run({"days": 10, "at": {"lat": "north", "lon": 1}, "extra": True}, make_ctx())
    assert result == ToolResult(
        "Invalid arguments for tool 'get_weather':\n"
        "- city: Field required\n"
        "- days: Input should be less than or equal to 7 (got 10)\n"
        '- at.lat: Input should be a valid number, unable to parse string as a number (got "north")\n'
        "- extra: Extra inputs are not permitted (got true)\n"
        "Fix these and call the tool again.",
        is_error=True,
    )


async def test_long_inputs_are_not_echoed_and_non_objects_are_rejected() -> None:
    @tool
    def f(n: int) -> int:
        return n

    result = await f.run({"n": "x" * 200}, make_ctx())
    assert result.content == (
        "Invalid arguments for tool 'f':\n"
        "- n: Input should be a valid integer, unable to parse string as an integer\n"
        "Fix these and call the tool again."
    )
    assert await f.run([1], make_ctx()) == ToolResult(  # type: ignore[arg-type]
        "Tool 'f' takes a JSON object of arguments.", is_error=True
    )


async def test_arguments_arrive_as_typed_objects() -> None:
    seen: dict[str, Any] = {}

    @tool
    def f(at: Location, route: list[Point], unit: Unit, when: dt.date, pos_only: int = 0, /) -> str:
        seen.update(at=at, route=route, unit=unit, when=when, pos_only=pos_only)
        return "ok"

    args = {"at": {"lat": 1, "lon": 2}, "route": [{"x": 1, "y": 2}], "unit": "celsius", "when": "2025-01-02"}
    assert await f.run(args, make_ctx()) == ToolResult("ok")
    assert seen == {
        "at": Location(lat=1.0, lon=2.0),
        "route": [Point(1, 2)],
        "unit": Unit.CELSIUS,
        "when": dt.date(2025, 1, 2),
        "pos_only": 0,
    }


# --- calling --------------------------------------------------------------------------------


async def test_sync_tools_run_in_a_worker_thread_and_async_tools_in_the_loop() -> None:
    threads: dict[str, int] = {}

    @tool
    def sync_tool() -> str:
        threads["sync"] = threading.get_ident()
        return "s"

    @tool
    async def async_tool() -> str:
        threads["async"] = threading.get_ident()
        return "a"

    assert await sync_tool.run({}, make_ctx()) == ToolResult("s")
    assert await async_tool.run({}, make_ctx()) == ToolResult("a")
    assert threads["sync"] != threading.get_ident()
    assert threads["async"] == threading.get_ident()


async def test_timeout_of_an_async_tool() -> None:
    @tool(timeout=0.05)
    async def slow() -> str:
        await anyio.sleep(10)
        return "never"

    assert await slow.run({}, make_ctx()) == ToolResult("Tool 'slow' timed out after 0.05s.", is_error=True)


async def test_timeout_of_a_hung_sync_tool() -> None:
    release = threading.Event()

    @tool(timeout=0.05)
    def hung() -> str:
        release.wait(5)
        return "never"

    try:
        assert await hung.run({}, make_ctx()) == ToolResult("Tool 'hung' timed out after 0.05s.", is_error=True)
    finally:
        release.set()


async def test_tool_error_message_goes_verbatim() -> None:
    @tool
    def f() -> str:
        raise ToolError("No flights on that date; try another day.")

    assert await f.run({}, make_ctx()) == ToolResult("No flights on that date; try another day.", is_error=True)


async def test_a_raised_exception_becomes_an_error_result_and_a_log_event() -> None:
    @tool
    async def f() -> str:
        raise ValueError("bad city")

    with structlog.testing.capture_logs() as logs:
        result = await f.run({}, make_ctx())
    assert result == ToolResult("Tool 'f' failed: ValueError: bad city", is_error=True)
    assert logs == [{"event": "tool_failed", "tool": "f", "exc_info": True, "log_level": "warning"}]


async def test_a_tools_own_timeout_error_is_a_failure_not_a_timeout() -> None:
    @tool(timeout=5)
    async def f() -> str:
        raise TimeoutError("upstream")

    assert await f.run({}, make_ctx()) == ToolResult("Tool 'f' failed: TimeoutError: upstream", is_error=True)


@pytest.mark.parametrize("limit", [None, 5.0])
@pytest.mark.parametrize("kind", ["async", "sync"])
async def test_cancellation_propagates(kind: str, limit: float | None) -> None:
    started, release = anyio.Event(), threading.Event()
    results: list[ToolResult] = []

    async def wait_async() -> str:
        started.set()
        await anyio.sleep(10)
        return "never"

    def wait_sync() -> str:
        anyio.from_thread.run_sync(started.set)
        release.wait(5)
        return "never"

    waits = Tool(wait_async if kind == "async" else wait_sync, timeout=limit)

    async def runner() -> None:
        results.append(await waits.run({}, make_ctx()))

    try:
        async with anyio.create_task_group() as group:
            group.start_soon(runner)
            await started.wait()
            group.cancel_scope.cancel()
    finally:
        release.set()
    assert results == []


# --- return values --------------------------------------------------------------------------

BLOCKS = [
    {"type": "text", "text": "hi"},
    {"type": "image", "source": {"type": "url", "url": "https://x/y.png"}},
]


@pytest.mark.parametrize(
    ("value", "content"),
    [
        ("plain text", "plain text"),
        ("", ""),
        (Location(lat=1, lon=2), '{"lat":1.0,"lon":2.0,"title":"here"}'),
        (BLOCKS, BLOCKS),
        ([{"type": "text", "text": "a"}, {"no": "type"}], '[{"type":"text","text":"a"},{"no":"type"}]'),
        ([], "[]"),
        ({"a": [1, 2]}, '{"a":[1,2]}'),
        (42, "42"),
        (None, "null"),
        (dt.datetime(2025, 1, 2, 3, 4, 5), '"2025-01-02T03:04:05"'),
        (Point(1, 2), '{"x":1,"y":2}'),
    ],
    ids=[
        "str",
        "empty",
        "model",
        "blocks",
        "mixed-list",
        "empty-list",
        "dict",
        "int",
        "none",
        "datetime",
        "dc",
    ],
)
async def test_return_values(value: Any, content: Any) -> None:
    @tool
    async def f() -> Any:
        return value

    assert await f.run({}, make_ctx()) == ToolResult(content)


async def test_unserialisable_return_value() -> None:
    @tool
    def f() -> Any:
        return Opaque()

    with structlog.testing.capture_logs() as logs:
        result = await f.run({}, make_ctx())
    assert result == ToolResult(
        "Tool 'f' returned a Opaque that cannot be serialised to JSON; "
        "return str, a pydantic model, or JSON-able data.",
        is_error=True,
    )
    assert [(e["event"], e["tool"]) for e in logs] == [("tool_result_unserialisable", "f")]


# --- RunContext, methods, the plain call, from_schema ---------------------------------------


async def test_run_context_is_injected_in_any_position_and_never_in_the_schema() -> None:
    seen: list[Any] = []

    @tool
    def first(ctx: RunContext[str], a: int) -> str:
        seen.append(ctx.deps)
        return str(a)

    @tool
    def middle(a: int, ctx: RunContext, b: int = 1) -> str:
        seen.append(ctx.deps)
        return str(a + b)

    @tool
    async def keyword_only(a: int, *, ctx: RunContext[str]) -> str:
        seen.append(ctx.tool_call_id)
        return str(a)

    ctx = make_ctx(deps="db")
    ctx.tool_call_id = "toolu_1"
    for t in (first, middle, keyword_only):
        assert "ctx" not in t.input_schema["properties"]
        assert t.input_schema["required"] == ["a"]
        assert (await t.run({"a": 1}, ctx)).is_error is False
    assert seen == ["db", "db", "toolu_1"]


class Counter:
    def __init__(self) -> None:
        self.total = 0

    @tool
    def add(self, n: int) -> int:
        """Add n to the running total."""
        self.total += n
        return self.total


async def test_method_tools() -> None:
    counter = Counter()
    assert isinstance(Counter.add, Tool)
    assert counter.add is not Counter.add
    assert counter.add.input_schema == Counter.add.input_schema
    assert counter.add.input_schema["properties"] == {"n": {"type": "integer"}}
    assert counter.add.description == "Add n to the running total."

    assert await counter.add.run({"n": 2}, make_ctx()) == ToolResult("2")
    assert await Counter.add.bind(counter).run({"n": 3}, make_ctx()) == ToolResult("5")
    assert counter.add(4) == 9  # a plain call still works
    assert counter.total == 9

    with pytest.raises(ToolDefinitionError, match=r"Tool 'add' is a method; bind it first"):
        await Counter.add.run({"n": 1}, make_ctx())


def test_plain_call_and_decorator_forms() -> None:
    @tool
    def double(n: int) -> int:
        return n * 2

    @tool(timeout=5)
    def slow(n: int) -> int:
        return n

    assert double(21) == 42
    assert (double.timeout, slow.timeout) == (None, 5)
    assert double.bind(object()) is double  # binding a non-method is harmless


async def test_from_schema() -> None:
    schema = {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]}
    received: list[Any] = []

    async def handler(arguments: dict[str, Any], ctx: RunContext[Any]) -> dict[str, Any]:
        received.append((arguments, ctx.run_id))
        return {"answer": 1}

    t = Tool.from_schema("ask", "", schema, handler, timeout=1)
    assert t.to_param() == {"name": "ask", "input_schema": schema}
    assert await t.run({"q": "hi", "anything": 1}, make_ctx()) == ToolResult('{"answer":1}')
    assert received == [({"q": "hi", "anything": 1}, "run-1")]
    assert (await t.run("not an object", make_ctx())).is_error  # type: ignore[arg-type]


def test_to_block() -> None:
    assert ToolResult("ok").to_block("toolu_1") == {
        "type": "tool_result",
        "tool_use_id": "toolu_1",
        "content": "ok",
    }
    assert ToolResult(BLOCKS, is_error=True).to_block("toolu_2") == {
        "type": "tool_result",
        "tool_use_id": "toolu_2",
        "content": BLOCKS,
        "is_error": True,
    }


class Strict(BaseModel):
    code: str

    @field_validator("code")
    @classmethod
    def known(cls, value: str) -> str:
        return {"a": "alpha"}[value]  # raises KeyError, which pydantic does not wrap


async def test_a_validator_raising_a_non_validation_error_is_a_failure_result() -> None:
    @tool
    def f(item: Strict) -> str:
        return item.code

    with structlog.testing.capture_logs():
        assert await f.run({"item": {"code": "zz"}}, make_ctx()) == ToolResult(
            "Tool 'f' failed: KeyError: 'zz'", is_error=True
        )
    assert await f.run({"item": {"code": "a"}}, make_ctx()) == ToolResult("alpha")


# --- results the API would refuse or that cannot be encoded (issues 13.F/S/T, 14.6, 14.7, 12.10) ------

LONE = "caf\udce9"  # what errors="surrogateescape" makes of b"caf\xe9"
PNG = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}}


@pytest.mark.parametrize("message", ["", "   \n"], ids=["empty", "whitespace"])
async def test_a_tool_error_without_a_message_sends_a_short_one(message: str) -> None:
    @tool
    def f() -> str:
        raise ToolError(message)

    result = await f.run({}, make_ctx())
    assert result == ToolResult(
        "Tool 'f' failed without saying why (it raised an error with an empty message).", is_error=True
    )


def test_an_error_result_built_empty_still_sends_content() -> None:
    block = ToolResult("", is_error=True).to_block("toolu_1")
    assert block == {
        "type": "tool_result",
        "tool_use_id": "toolu_1",
        "content": "The tool failed without saying why.",
        "is_error": True,
    }
    assert ToolResult([], is_error=True).to_block("toolu_1")["content"] == "The tool failed without saying why."
    assert ToolResult("").to_block("toolu_1")["content"] == ""  # a success may be empty


@pytest.mark.parametrize(
    ("returned", "content"),
    [
        ([{"type": "text", "text": ""}], "Tool 'f' returned no content (only empty text)."),
        (
            [{"type": "text", "text": " \n"}, {"type": "text", "text": ""}],
            "Tool 'f' returned no content (only empty text).",
        ),
        ([{"type": "text", "text": ""}, {"type": "text", "text": "ok"}], [{"type": "text", "text": "ok"}]),
        ([{"type": "text", "text": "see"}, PNG], [{"type": "text", "text": "see"}, PNG]),
        (
            [
                {
                    "type": "search_result",
                    "source": "https://x",
                    "title": "X",
                    "content": [{"type": "text", "text": "y"}],
                }
            ],
            [
                {
                    "type": "search_result",
                    "source": "https://x",
                    "title": "X",
                    "content": [{"type": "text", "text": "y"}],
                }
            ],
        ),
        ([{"type": "text", "value": 3}], '[{"type":"text","value":3}]'),
        ([{"type": "text", "text": 3}], '[{"type":"text","text":3}]'),
        ([{"type": "image", "source": {"type": "base64", "media_type": "image/bmp", "data": "Qk0="}}], None),
        ([{"type": "text", "text": "ok"}, {"type": "document"}], '[{"type":"text","text":"ok"},{"type":"document"}]'),
        ([{"type": "row", "n": 1}], '[{"type":"row","n":1}]'),
    ],
    ids=[
        "an empty text block",
        "only blank text blocks",
        "an empty text block beside text",
        "text and an image",
        "a search result",
        "a text block with a value",
        "a text block whose text is a number",
        "an image of a type the API refuses",
        "one invalid block among valid ones",
        "data that merely has a type",
    ],
)
async def test_only_valid_blocks_go_as_blocks_anything_else_as_json(returned: Any, content: Any) -> None:
    @tool
    def f() -> Any:
        return returned

    with structlog.testing.capture_logs() as logs:
        result = await f.run({}, make_ctx())
    expected = json.dumps(returned, separators=(",", ":")) if content is None else content
    assert result == ToolResult(expected)
    invalid = isinstance(expected, str) and expected.startswith("[") and returned[0]["type"] != "row"
    assert [e["event"] for e in logs] == (["tool_result_blocks_invalid"] if invalid else [])


class Note(BaseModel):
    text: str


@pytest.mark.parametrize(
    ("returned", "where"),
    [
        (LONE, "at the result, character 3 (U+DCE9)"),
        ({"name": "x", "tags": ["ok", LONE]}, "at tags[1], character 3 (U+DCE9)"),
        ([{"type": "text", "text": LONE}], "at [0].text, character 3 (U+DCE9)"),
        (Note(text=LONE), ""),
    ],
    ids=["a string", "nested data", "a text block", "a pydantic model"],
)
async def test_a_result_that_cannot_be_encoded_is_an_error_result_not_an_exception(returned: Any, where: str) -> None:
    @tool
    def f() -> Any:
        return returned

    with structlog.testing.capture_logs() as logs:
        result = await f.run({}, make_ctx())
    assert result.is_error
    place = f" {where}" if where else ""
    assert result.content == (
        f"Tool 'f' returned text that is not valid Unicode (a lone surrogate{place}), so it cannot be sent. "
        "The tool must return valid text, e.g. decode bytes with errors='replace'."
    )
    assert isinstance(result.content, str)
    result.content.encode()  # what gets sent and saved encodes
    assert [e["event"] for e in logs] == ["tool_result_unencodable"]


async def test_error_text_that_cannot_be_encoded_keeps_its_words() -> None:
    @tool
    def f() -> str:
        raise ToolError(f"No file named {LONE}")

    @tool
    def g() -> str:
        raise OSError(f"cannot open {LONE}")

    with structlog.testing.capture_logs():
        assert await f.run({}, make_ctx()) == ToolResult("No file named caf\ufffd", is_error=True)
        assert await g.run({}, make_ctx()) == ToolResult(
            "Tool 'g' failed: OSError: cannot open caf\ufffd", is_error=True
        )


async def test_every_failure_logs_a_warning() -> None:
    @tool
    def f() -> str:
        raise ValueError("bad")

    with structlog.testing.capture_logs() as logs:
        for _ in range(3):
            await f.run({}, make_ctx())
    assert [e["event"] for e in logs] == ["tool_failed"] * 3


async def test_a_failure_before_logging_is_configured_does_not_silence_the_tool() -> None:
    @tool
    def f() -> str:
        raise ValueError("bad")

    structlog.reset_defaults()  # not configured: agentkit must not print
    assert not structlog.is_configured()
    await f.run({}, make_ctx())
    with structlog.testing.capture_logs() as logs:
        await f.run({}, make_ctx())
    assert [e["event"] for e in logs] == ["tool_failed"]


@pytest.mark.parametrize(
    ("schema", "got"),
    [({"type": "string"}, "type 'string'"), ({"properties": {}}, "type None"), ([{"type": "object"}], "a list")],
    ids=["a string schema", "no type", "not a dict"],
)
def test_from_schema_refuses_a_schema_that_is_not_an_object(schema: Any, got: str) -> None:
    async def lookup(arguments: dict[str, Any], ctx: RunContext[Any]) -> str:
        return "x"

    with pytest.raises(ToolDefinitionError) as caught:
        Tool.from_schema("lookup", "Find a thing.", schema, lookup)
    message = str(caught.value)
    assert message.startswith("Tool 'lookup' (")
    assert "test_tools.py:" in message
    assert (
        f'input_schema must be a JSON schema of "type": "object" (the Messages API takes no other), got {got}'
        in message
    )
    assert '{"type": "object", "properties": {"value": <your schema>}, "required": ["value"]}' in message


def test_the_public_classes_document_their_arguments() -> None:
    for documented in (Tool, tool, ToolResult, RunContext, Tool.from_schema):
        doc = documented.__doc__ or ""
        assert "\n    Args:\n" in doc or "\n        Args:\n" in doc, documented
    fields = {f.name for f in dataclasses.fields(RunContext)}
    assert fields == {"deps", "agent", "usage", "messages", "run_id", "turn", "tool_call_id", "added"}
    for name in fields:
        assert f"        {name}: " in (RunContext.__doc__ or ""), name
