"""An inline JSON schema (the `output:` of a spec) turned into a pydantic model.

A model, not the raw schema, so a YAML agent's output is validated and retried exactly like a
Python agent's. Only a common subset is understood; anything else is refused by name rather than
silently ignored, since an ignored `format` or `anyOf` would accept answers the user meant to reject.
"""

from __future__ import annotations

import keyword
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from .source import Loc

_TYPES: dict[str, Any] = {"string": str, "integer": int, "number": float, "boolean": bool, "null": type(None)}
_COMMON = {"type", "description", "title", "enum", "default", "examples"}
_BY_TYPE = {
    "string": {"minLength", "maxLength", "pattern"},
    "integer": {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"},
    "number": {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"},
    "boolean": set(),
    "null": set(),
    "array": {"items", "minItems", "maxItems"},
    "object": {"properties", "required", "additionalProperties"},
}
_CONSTRAINTS = {
    "minLength": "min_length",
    "maxLength": "max_length",
    "pattern": "pattern",
    "minimum": "ge",
    "maximum": "le",
    "exclusiveMinimum": "gt",
    "exclusiveMaximum": "lt",
    "minItems": "min_length",
    "maxItems": "max_length",
}


class SchemaProblem(Exception):
    """A part of the schema that is not understood; `loc` is where, under `output`."""

    def __init__(self, loc: Loc, message: str, *, key: bool = False) -> None:
        super().__init__(message)
        self.loc, self.message, self.key = loc, message, key


def model_from_schema(schema: dict[str, Any], name: str) -> type[BaseModel]:
    """The pydantic model `schema` describes; its root must be an object with `properties`."""
    if schema.get("type", "object") != "object" or "properties" not in schema:
        raise SchemaProblem((), "an inline output schema is an object: give `type: object` and `properties:`")
    return _object(schema, str(schema.get("title") or name), ())


def _annotation(schema: Any, name: str, loc: Loc) -> tuple[Any, dict[str, Any]]:
    """The Python type of one (sub)schema, and the `Field` keywords its constraints become."""
    if not isinstance(schema, dict):
        raise SchemaProblem(loc, "a schema is a mapping, e.g. `{type: string}`")
    _check_keys(schema, _COMMON.union(*_BY_TYPE.values()), loc)
    types = schema.get("type")
    if "enum" in schema:
        values = schema["enum"]
        if not isinstance(values, list) or not values or any(isinstance(v, (dict, list)) for v in values):
            raise SchemaProblem((*loc, "enum"), "`enum` is a non-empty list of strings, numbers or booleans")
        _check_keys(schema, _COMMON, loc, kind="an enum")
        return Literal[tuple(values)], _field_info(schema)
    if types is None:
        raise SchemaProblem(loc, f"give a `type` (one of: {', '.join(_BY_TYPE)}) or an `enum`")
    names = types if isinstance(types, list) else [types]
    unknown = [t for t in names if t not in _BY_TYPE]
    if unknown or not names:
        raise SchemaProblem((*loc, "type"), f"unknown type {unknown[0] if unknown else types!r}; use {_or(_BY_TYPE)}")
    _check_keys(schema, _COMMON.union(*(_BY_TYPE[t] for t in names)), loc, kind=" or ".join(names))
    built = [_one_type(t, schema, name, loc) for t in names]
    annotation = built[0]
    for extra in built[1:]:
        annotation = annotation | extra
    extras = {_CONSTRAINTS[k]: v for k, v in schema.items() if k in _CONSTRAINTS}
    return annotation, {**_field_info(schema), **extras}


def _one_type(kind: str, schema: dict[str, Any], name: str, loc: Loc) -> Any:
    if kind in _TYPES:
        return _TYPES[kind]
    if kind == "array":
        if "items" not in schema:
            return list[Any]
        item, info = _annotation(schema["items"], name + "Item", (*loc, "items"))
        return list[Annotated[item, Field(**info)]]  # type: ignore[valid-type]
    if "properties" not in schema:
        extra = schema.get("additionalProperties", True)
        if extra is not True:
            raise SchemaProblem((*loc, "additionalProperties"), "an object without `properties` takes any keys")
        return dict[str, Any]
    return _object(schema, name, loc)


def _object(schema: dict[str, Any], name: str, loc: Loc) -> type[BaseModel]:
    properties, required = schema.get("properties"), schema.get("required", [])
    if not isinstance(properties, dict) or not properties:
        raise SchemaProblem((*loc, "properties"), "`properties` maps each field name to its schema")
    if not isinstance(required, list) or any(r not in properties for r in required):
        missing = [r for r in required if r not in properties] if isinstance(required, list) else []
        what = f"'{missing[0]}' is required but not in `properties`" if missing else "`required` is a list of names"
        raise SchemaProblem((*loc, "required"), what)
    extra = schema.get("additionalProperties", True)
    if not isinstance(extra, bool):
        raise SchemaProblem((*loc, "additionalProperties"), "only `true` or `false` is supported inline")
    fields: dict[str, Any] = {}
    for n, (prop, sub) in enumerate(properties.items()):
        annotation, info = _annotation(sub, name + _camel(str(prop)), (*loc, "properties", prop))
        default = info.pop("default", None)
        if prop in required:
            default = ...
        else:
            annotation = annotation | None
        python_name = str(prop) if _usable(str(prop)) else f"field_{n}"
        fields[python_name] = (annotation, Field(default, alias=str(prop), **info))
    config = ConfigDict(extra="ignore" if extra else "forbid", populate_by_name=True)
    return create_model(name, __config__=config, __doc__=schema.get("description"), **fields)


def _field_info(schema: dict[str, Any]) -> dict[str, Any]:
    return {k: schema[k] for k in ("description", "title", "examples", "default") if k in schema}


def _check_keys(schema: dict[str, Any], allowed: set[str], loc: Loc, kind: str | None = None) -> None:
    for key in schema:
        if key in allowed:
            continue
        if kind is None:
            why = "is not supported in an inline output schema; for more, point `output:` at a pydantic model"
        else:
            why = f"does not apply to {kind} (it takes: {', '.join(sorted(allowed - _COMMON)) or 'no constraints'})"
        raise SchemaProblem((*loc, key), f"'{key}' {why}", key=True)


def _usable(name: str) -> bool:
    """Whether a property can be a pydantic field under its own name (else it gets an alias)."""
    return (
        name.isidentifier()
        and not keyword.iskeyword(name)
        and not name.startswith("_")
        and not hasattr(BaseModel, name)
    )


def _camel(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in name.replace("-", "_").split("_") if part)


def _or(names: Any) -> str:
    return ", ".join(names)
