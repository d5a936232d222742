"""A validated spec's names made real: tools and the output type imported, the prompt parsed.

Everything that would otherwise fail later (in `Agent(...)`, or mid-run) is checked here, so that a
spec that loads is an agent that starts, and each problem points at the line that causes it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._api_rules import api_problems
from ..errors import ConfigurationError, ToolDefinitionError
from ..output import OutputSpec
from ..tools import Tool
from .imports import ImportProblem, import_object
from .json_schema import SchemaProblem, model_from_schema
from .mcp import mcp_servers
from .template import syntax_problems

if TYPE_CHECKING:
    from ..spec import LoadedSpec


def resolve(loaded: LoadedSpec) -> list[str]:
    """Fill `loaded.tools` and `loaded.output_type`; the problems found, as error lines."""
    spec, marks = loaded.spec, loaded.marks
    problems = []
    if not spec.model:
        problems.append(marks.problem(("model",), "missing; add the model id, e.g. `model: claude-sonnet-4-6`"))
    if spec.system is not None and spec.system_file is not None:
        problems.append(marks.problem(("system_file",), "give `system` or `system_file`, not both", key=True))
    else:
        problems += syntax_problems(loaded)
    problems += [
        marks.problem(loc, message, key=loc[:1] == ("request_params",) and len(loc) == 2)
        for loc, message in api_problems(spec.model_dump())
    ]
    problems += _tools(loaded)
    problems += _output(loaded)
    problems += _memory(loaded)
    problems += mcp_servers(loaded)  # `mcp_servers:` (issue 17)
    return problems


def _memory(loaded: LoadedSpec) -> list[str]:
    strategy = loaded.spec.memory.strategy if loaded.spec.memory is not None else None
    if strategy is None:
        return []
    from ..memory import resolve_memory

    try:
        resolve_memory(strategy)
    except ConfigurationError as exc:
        return [loaded.marks.problem(("memory", "strategy"), str(exc))]
    return []


def _tools(loaded: LoadedSpec) -> list[str]:
    marks, problems = loaded.marks, []
    first: dict[str, int] = {}
    for index, target in enumerate(loaded.spec.tools):
        loc = ("tools", index)
        try:
            obj = import_object(target, marks.at(loc).path.parent, "function")
            tool = _as_tool(obj, target)
        except (ImportProblem, ToolDefinitionError) as exc:
            problems.append(marks.problem(loc, str(exc)))
            continue
        if tool.name in first:
            problems.append(marks.problem(loc, f"a second tool named '{tool.name}' (tools[{first[tool.name]}])"))
            continue
        first[tool.name] = index
        loaded.tools.append(tool)
    return problems


def _as_tool(obj: Any, target: str) -> Tool:
    if isinstance(obj, type):
        raise ToolDefinitionError(f"'{target}' is a class; a tool is a function or a static method")
    tool = obj if isinstance(obj, Tool) else Tool(obj)
    if tool._is_method and tool._instance is None:
        raise ToolDefinitionError(
            f"'{target}' takes `self`; make it a @staticmethod or a module-level function, "
            "or define the agent in Python (a subclass with @tool methods)"
        )
    return tool


def _output(loaded: LoadedSpec) -> list[str]:
    output, marks = loaded.spec.output, loaded.marks
    if output is None:
        return []
    loc: tuple[str, ...] = ("output",)
    try:
        if isinstance(output, str):
            output_type = import_object(output, marks.at(loc).path.parent, "class")
            if not isinstance(output_type, type):
                kind = type(output_type).__name__
                return [marks.problem(loc, f"'{output}' is a {kind}, not a class; name a pydantic model")]
        else:
            name = "".join(p.capitalize() for p in (loaded.spec.name or loaded.path.stem).replace("-", "_").split("_"))
            output_type = model_from_schema(output, f"{name}Output")
        OutputSpec(output_type, loaded.spec.output_mode or "tool")  # fails now if it cannot be a schema
    except ImportProblem as exc:
        return [marks.problem(loc, str(exc))]
    except SchemaProblem as exc:
        return [marks.problem((*loc, *exc.loc), exc.message, key=exc.key)]
    except Exception as exc:  # pydantic refusing a type or a constraint: name it, do not crash the loader
        reason = str(exc).strip().split("\n", 1)[0]  # pydantic's first line says it; the rest is advice for coders
        return [marks.problem(loc, f"cannot be an output type: {type(exc).__name__}: {reason}")]
    loaded.output_type = output_type
    return []
