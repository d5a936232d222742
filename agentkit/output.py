"""Typed output: the final answer validated into a Python type.

Two modes. `"tool"` (the default, works on every model and platform) offers an output tool whose
`input_schema` is the type's JSON schema and forces it with `tool_choice`; `"native"` asks the API
for JSON matching the schema (`output_config.format`) and validates the text. A type whose schema
is not an object (`int`, `list[Model]`, a union) is wrapped as `{"result": ...}` and unwrapped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeAlias, TypeVar

from ._schema import error_lines, strip_titles

if TYPE_CHECKING:
    from pydantic import BaseModel, TypeAdapter, ValidationError

T = TypeVar("T")
OutputMode: TypeAlias = Literal["tool", "native"]

OUTPUT_TOOL = "final_result"


@dataclass(frozen=True)
class OutputAttempt:
    """One answer that did not validate, and why."""

    answer: Any
    errors: str


class OutputSpec(Generic[T]):
    """How the final answer of a run becomes a `T`."""

    def __init__(self, output_type: type[T] | Any, mode: OutputMode = "tool") -> None:
        if mode not in ("tool", "native"):
            raise ValueError(f"output_mode must be 'tool' or 'native', not {mode!r}")
        from pydantic import TypeAdapter, create_model  # loaded with the first typed output, not at import

        self.output_type = output_type
        self.mode: OutputMode = mode
        schema = strip_titles(TypeAdapter(output_type).json_schema())
        self.wrapped = schema.get("type") != "object"
        if self.wrapped:
            defs = schema.pop("$defs", None)
            wrapper: type[BaseModel] = create_model("FinalResult", result=(output_type, ...))
            self._adapter: TypeAdapter[Any] = TypeAdapter(wrapper)
            schema = {"type": "object", "properties": {"result": schema}, "required": ["result"]}
            if defs:
                schema["$defs"] = defs
        else:
            self._adapter = TypeAdapter(output_type)
        self.schema: dict[str, Any] = schema
        self._tool_param: dict[str, Any] | None = None
        name = getattr(output_type, "__name__", None) or str(output_type)
        doc = (getattr(output_type, "__doc__", None) or "").strip() if isinstance(output_type, type) else ""
        if doc.startswith(("A base class", "Usage docs")):  # pydantic's own docstring, not the user's
            doc = ""
        self.description = f"Give the final answer as {name}. Call this once, when the answer is complete."
        if doc:
            self.description += f"\n\n{doc}"

    def tool_param(self) -> dict[str, Any]:
        """The output tool's definition; the same dict every time (treat it as read-only)."""
        if self._tool_param is None:
            self._tool_param = {"name": OUTPUT_TOOL, "description": self.description, "input_schema": self.schema}
        return self._tool_param

    def native_format(self) -> dict[str, Any]:
        """The `output_config.format` the API's structured output takes (its schema rules applied)."""
        import anthropic

        return {"type": "json_schema", "schema": anthropic.transform_schema(self.schema)}

    def validate(self, answer: dict[str, Any] | str) -> T:
        """The typed value of an answer: a tool input (dict) or, in native mode, JSON text."""
        if isinstance(answer, str):
            value = self._adapter.validate_json(answer)
        else:
            value = self._adapter.validate_python(answer)
        return value.result if self.wrapped else value  # type: ignore[no-any-return]

    @staticmethod
    def explain(exc: ValidationError) -> str:
        return "\n".join(error_lines(exc))
