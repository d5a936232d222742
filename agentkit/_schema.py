"""JSON schemas and validation errors shared by tools and typed output."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pydantic import ValidationError

_SCHEMA_MAPS = frozenset({"properties", "$defs", "definitions", "patternProperties"})
_SCHEMA_DATA = frozenset({"default", "examples", "const", "enum"})


def strip_titles(schema: Any) -> Any:
    """Drop pydantic's generated `title`s (tokens the model does not need), keeping a property
    that happens to be called `title` and leaving literal data (defaults, enums) untouched."""
    if isinstance(schema, list):
        return [strip_titles(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "title" and isinstance(value, str):
            continue
        if key in _SCHEMA_MAPS and isinstance(value, dict):
            out[key] = {name: strip_titles(sub) for name, sub in value.items()}
        else:
            out[key] = value if key in _SCHEMA_DATA else strip_titles(value)
    return out


def error_lines(exc: ValidationError) -> list[str]:
    """One line per field error, so the model can fix its input instead of guessing."""
    lines = []
    for err in exc.errors(include_url=False):
        loc = ".".join(str(part) for part in err["loc"]) or "(input)"
        line = f"- {loc}: {err['msg']}"
        if err["type"] != "missing":
            shown = json.dumps(err.get("input"), default=repr)
            if len(shown) <= 60:  # echo short inputs only: a long one costs tokens and tells little
                line += f" (got {shown})"
        lines.append(line)
    return lines
