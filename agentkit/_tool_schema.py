"""How a Python function becomes a tool's schema: parameters sorted, annotations resolved, errors named.

Split from `agentkit.tools` (which holds the public classes and runs the calls). Everything here
runs when a tool is defined, so a function that cannot be a tool fails at import time with its
file:line and the fix, never in the middle of a run.
"""

from __future__ import annotations

import functools
import inspect
import re
import sys
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, create_model
from pydantic.errors import PydanticUserError
from pydantic.fields import FieldInfo

from ._schema import strip_titles
from .errors import ToolDefinitionError

__all__ = ["Param", "build", "check_name", "check_object_schema", "fail", "is_async", "unwrapped", "where"]

_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,128}$")
_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


@dataclass(frozen=True)
class Param:
    """How `run` fills one parameter: with the RunContext or a validated value, by position or name."""

    name: str
    field: str  # the pydantic field name; the parameter name is its alias (it may shadow BaseModel)
    positional: bool
    is_ctx: bool


def unwrapped(function: Any) -> Any:
    """What describes `function`: the callable inside partials and `functools.wraps` decorators."""
    while isinstance(function, functools.partial):
        function = function.func
    return inspect.unwrap(function)


def is_async(function: Callable[..., Any]) -> bool:
    """Judged on the outer callable: a sync wrapper runs in a thread (a coroutine it returns is awaited)."""
    return inspect.iscoroutinefunction(function) or inspect.iscoroutinefunction(type(function).__call__)


def where(function: Any) -> str:
    """file:line of the function, for messages that point at the code to fix."""
    target = unwrapped(function)
    # a callable object has no __code__ of its own: point at its class's __call__
    code = getattr(target, "__code__", None) or getattr(type(target).__call__, "__code__", None)
    return f"{code.co_filename}:{code.co_firstlineno}" if code else "<unknown location>"


def fail(tool_name: str, function: Any, message: str) -> ToolDefinitionError:
    return ToolDefinitionError(f"Tool '{tool_name}' ({where(function)}): {message}")


def check_object_schema(name: str, schema: Any, function: Any) -> None:
    """A hand-written `input_schema` must describe an object: the API refuses any other type."""
    if isinstance(schema, dict) and schema.get("type") == "object":
        return
    got = f"type {schema.get('type')!r}" if isinstance(schema, dict) else f"a {type(schema).__name__}"
    raise fail(
        name,
        function,
        f'input_schema must be a JSON schema of "type": "object" (the Messages API takes no other), got {got}; '
        'wrap the value in an object, e.g. {"type": "object", "properties": {"value": <your schema>}, '
        '"required": ["value"]}.',
    )


def check_name(name: str, function: Any) -> str:
    if not _NAME.match(name):
        raise ToolDefinitionError(
            f"Tool name {name!r} ({where(function)}) must match ^[a-zA-Z0-9_-]{{1,128}}$; "
            "give it a valid name, e.g. @tool(name='lookup_order')."
        )
    return name


def _type_hints(tool_name: str, function: Callable[..., Any]) -> dict[str, Any]:
    """Resolve annotations (strings under `from __future__ import annotations` included).

    A type defined inside a function is not in the module globals; on NameError we retry with
    the locals of the first caller outside this module, where `@tool` was applied.
    """
    target = unwrapped(function)
    if not (inspect.isfunction(target) or inspect.ismethod(target)):
        target = type(target).__call__
    try:
        return typing.get_type_hints(target, include_extras=True)
    except NameError as first:
        frame = sys._getframe(1)
        while frame.f_back and frame.f_globals.get("__name__") in (__name__, "agentkit.tools"):
            frame = frame.f_back
        try:
            return typing.get_type_hints(target, localns=dict(frame.f_locals), include_extras=True)
        except NameError:
            fix = "import or define that type at module level."
            raise fail(tool_name, function, f"cannot resolve an annotation ({first}); {fix}") from first


def _has_description(hint: Any) -> bool:
    if typing.get_origin(hint) is not typing.Annotated:
        return False
    return any(isinstance(m, FieldInfo) and m.description for m in hint.__metadata__)


def build(
    tool_name: str, function: Callable[..., Any], docs: dict[str, str], is_context: Callable[[Any], bool]
) -> tuple[bool, tuple[Param, ...], type[BaseModel], dict[str, Any]]:
    """Sort the parameters into `self`, the RunContext (`is_context` of its annotation) and model
    fields; build the model and the schema."""
    hints = _type_hints(tool_name, function)
    parameters = list(inspect.signature(function).parameters.values())
    is_method = bool(parameters) and parameters[0].name == "self"
    params: list[Param] = []
    fields: dict[str, Any] = {}
    for p in parameters[1:] if is_method else parameters:
        if p.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
            star = "*" if p.kind is inspect.Parameter.VAR_POSITIONAL else "**"
            why = "cannot be a tool argument (the model sends named JSON fields)"
            fix = "replace it with named parameters, e.g. `items: list[str]`."
            raise fail(tool_name, function, f"parameter '{star}{p.name}' {why}; {fix}")
        if p.name not in hints:
            fix = f"annotate it, e.g. `{p.name}: str`."
            raise fail(tool_name, function, f"parameter '{p.name}' has no type annotation; {fix}")
        hint = hints[p.name]
        field = f"f{len(params)}"
        params.append(Param(p.name, field, p.kind in _POSITIONAL, is_context(hint)))
        if params[-1].is_ctx:
            continue
        default: Any = ... if p.default is inspect.Parameter.empty else p.default
        info = Field(default, alias=p.name)
        if p.name in docs and not _has_description(hint):  # Annotated's own description wins
            info = Field(default, alias=p.name, description=docs[p.name])
        fields[field] = (hint, info)
    try:
        model = create_model(tool_name, __config__=ConfigDict(extra="forbid"), **fields)
        raw = strip_titles(model.model_json_schema())
    except (PydanticUserError, TypeError, ValueError, NameError) as exc:
        raise _bad_type(tool_name, function, hints, params, exc) from exc
    schema = {
        "type": "object",
        "properties": raw["properties"],
        "required": raw.get("required", []),
        "additionalProperties": False,
    }
    if "$defs" in raw:
        schema["$defs"] = dict(sorted(raw["$defs"].items()))
    _check_return(tool_name, function, hints.get("return", Any))
    return is_method, tuple(params), model, schema


def _check_return(tool_name: str, function: Any, hint: Any) -> None:
    """A declared return type pydantic cannot serialise fails now, not after the tool has run."""
    if hint in (Any, str, None, type(None)):
        return
    try:
        TypeAdapter(hint)
    except (PydanticUserError, TypeError, ValueError) as exc:
        reason = str(exc).splitlines()[0]
        fix = "return str, a pydantic model, or JSON-able data (dict, list, numbers), and annotate it so."
        raise fail(tool_name, function, f"its return type {hint!r} cannot be serialised ({reason}); {fix}") from None


def _bad_type(
    tool_name: str, function: Any, hints: dict[str, Any], params: list[Param], exc: Exception
) -> ToolDefinitionError:
    """Find the parameter whose type pydantic rejects, so the message can name it."""
    for p in params:
        if p.is_ctx:
            continue
        try:
            TypeAdapter(hints[p.name]).json_schema()
        except Exception as param_exc:
            why = f"has type {hints[p.name]!r}, which cannot become a JSON schema"
            reason = str(param_exc).splitlines()[0]
            fix = "use JSON-compatible types (str, int, float, bool, list, dict, Literal, enums, models)."
            return fail(tool_name, function, f"parameter '{p.name}' {why} ({reason}); {fix}")
    return fail(tool_name, function, f"cannot build an argument schema: {exc}")
