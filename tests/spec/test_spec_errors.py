"""Every mistake in a spec is reported as `file:line:column: field: problem`, with the fix when known."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from agentkit import ConfigurationError, SpecError, load_agent
from agentkit.spec import load_spec

if TYPE_CHECKING:
    from conftest import Files  # the fixture's type (tests/conftest.py)

SHOP_TOOLS = '''
def lookup(order_id: str) -> str:
    """Look up an order."""
    return "shipped"


def refund(order_id: str) -> str:
    """Refund an order."""
    return "ok"


class Desk:
    def escalate(self, reason: str) -> str:
        """Escalate."""
        return reason
'''


def problems(path: str) -> list[str]:
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    assert isinstance(caught.value, ConfigurationError)
    return caught.value.problems


def test_malformed_yaml_names_the_parser_position(files: Files) -> None:
    files.write("agents/bad.yaml", "model: claude-haiku-4-5\nvars:\n  shop: [Acme\n  tone: warm\n")

    assert problems("agents/bad.yaml") == [
        "agents/bad.yaml:4:7: invalid YAML: while parsing a flow sequence expected ',' or ']', but got ':'"
    ]


def test_unsafe_tags_are_refused(files: Files) -> None:
    files.write("evil.yaml", "model: !!python/object/apply:os.system ['echo pwned']\n")

    [problem] = problems("evil.yaml")
    assert problem.startswith("evil.yaml:1:8: invalid YAML: could not determine a constructor for the tag")


def test_unknown_fields_suggest_the_closest_one(files: Files) -> None:
    files.write("a.yaml", "model: m\ntemprature: 0.2\nmemory:\n  budjet: 1000\nfoo: 1\n")

    assert problems("a.yaml") == [
        "a.yaml:2:1: temprature: unknown field 'temprature'; did you mean 'temperature'?",
        "a.yaml:4:3: memory.budjet: unknown field 'budjet'; did you mean 'budget'?",
        "a.yaml:5:1: foo: unknown field 'foo'; the fields are: extends, name, description, model, max_tokens, "
        "max_turns, system, system_file, vars, tools, output, output_mode, output_retries, memory, cache, "
        "cache_ttl, thinking, temperature, top_p, stop_sequences, max_continuations, request_params, pacing, "
        "mcp_servers",
    ]


def test_wrong_types_name_the_value_given(files: Files) -> None:
    files.write("a.yaml", "model: m\nmax_tokens: lots\ntools: [a:b, 3]\ncache: sometimes\noutput: [1]\n")

    assert problems("a.yaml") == [
        "a.yaml:2:13: max_tokens: input should be a valid integer, unable to parse string as an integer (got 'lots')",
        "a.yaml:3:14: tools[1]: input should be a valid string (got 3)",
        "a.yaml:4:8: cache: input should be 'auto' or 'off' (got 'sometimes')",
        "a.yaml:5:9: output: give an import path ('package.module:Model') or an inline JSON schema (a mapping)",
    ]


def test_a_misspelt_tool_suggests_the_function_that_exists(files: Files) -> None:
    files.write("myapp/__init__.py", "")
    files.write("myapp/tools.py", SHOP_TOOLS)
    files.write(
        "agents/support.yaml",
        """
        model: claude-haiku-4-5
        tools:
          - myapp.tools:lookup
          - myapp.tools:lookp
          - myapp.tolls:refund
          - myapp.tools.refund
          - myapp.tools:Desk.escalate
          - myapp.tools:Desk
          - myapp.tools:lookup
          - nowhere:thing
        """,
    )

    assert problems("agents/support.yaml") == [
        "agents/support.yaml:4:5: tools[1]: module 'myapp.tools' has no function 'lookp'; did you mean 'lookup'?",
        "agents/support.yaml:5:5: tools[2]: no module named 'myapp.tolls'; did you mean 'myapp.tools'? "
        "(searched agents/, then the current directory and sys.path)",
        "agents/support.yaml:6:5: tools[3]: 'myapp.tools.refund' is not an import path; write it as "
        "'package.module:function'; did you mean 'myapp.tools:refund'?",
        "agents/support.yaml:7:5: tools[4]: 'myapp.tools:Desk.escalate' takes `self`; make it a @staticmethod or a "
        "module-level function, or define the agent in Python (a subclass with @tool methods)",
        "agents/support.yaml:8:5: tools[5]: 'myapp.tools:Desk' is a class; a tool is a function or a static method",
        "agents/support.yaml:9:5: tools[6]: a second tool named 'lookup' (tools[0])",
        "agents/support.yaml:10:5: tools[7]: no module named 'nowhere' "
        "(searched agents/, then the current directory and sys.path)",
    ]


def test_a_tool_that_cannot_be_a_tool_says_why(files: Files) -> None:
    files.write("loose.py", "def untyped(x):\n    return x\n")
    files.write("bad_import.py", "import not_installed_anywhere\n")
    files.write("bad_syntax.py", "def broken(:\n    pass\n")
    files.write("a.yaml", "model: m\ntools: [loose:untyped]\n")
    files.write("b.yaml", "model: m\ntools: [bad_import:f, bad_syntax:broken]\n")

    [untyped] = problems("a.yaml")
    assert untyped.startswith("a.yaml:2:9: tools[0]: ")
    assert "parameter 'x' has no type annotation; annotate it, e.g. `x: str`." in untyped
    assert problems("b.yaml") == [
        "b.yaml:2:9: tools[0]: importing 'bad_import' failed: No module named 'not_installed_anywhere'",
        f"b.yaml:2:23: tools[1]: importing 'bad_syntax' failed: {files.root / 'bad_syntax.py'}:1: invalid syntax",
    ]


def test_a_bad_output_path_suggests_the_class(files: Files) -> None:
    files.write(
        "models.py", "from pydantic import BaseModel\n\nclass Ticket(BaseModel):\n    id: str\n\ndef f(): ...\n"
    )
    files.write("a.yaml", "model: m\noutput: models:Tiket\n")
    files.write("b.yaml", "model: m\noutput: models:f\n")

    assert problems("a.yaml") == ["a.yaml:2:9: output: module 'models' has no class 'Tiket'; did you mean 'Ticket'?"]
    assert problems("b.yaml") == ["b.yaml:2:9: output: 'models:f' is a function, not a class; name a pydantic model"]


def test_an_unsupported_inline_schema_keyword_is_named(files: Files) -> None:
    files.write(
        "a.yaml",
        """
        model: m
        output:
          type: object
          properties:
            email: {type: string, format: email}
        """,
    )
    files.write(
        "b.yaml",
        """
        model: m
        output:
          type: object
          properties:
            age: {type: integer, pattern: '\\d+'}
        """,
    )

    assert problems("a.yaml") + problems("b.yaml") == [
        "a.yaml:5:27: output.properties.email.format: 'format' is not supported in an inline output schema; "
        "for more, point `output:` at a pydantic model",
        "b.yaml:5:26: output.properties.age.pattern: 'pattern' does not apply to integer (it takes: "
        "exclusiveMaximum, exclusiveMinimum, maximum, minimum)",
    ]


def test_template_syntax_errors_point_into_the_yaml_block(files: Files) -> None:
    files.write("a.yaml", "model: m\nsystem: |\n  You help {{ shop }}.\n  {% if x %}unclosed\n")

    assert problems("a.yaml") == [
        "a.yaml:4:3: system: template syntax error: Unexpected end of template. Jinja was looking for the "
        "following tags: 'elif' or 'else' or 'endif'. The innermost block that needs to be closed is 'if'."
    ]


def test_undefined_template_variables_are_found_where_they_are_used(files: Files) -> None:
    files.write("prompts/support.j2", "You help {{ shop }}.\n\nAddress {{ user.name }} by name.\n")
    files.write("inline.yaml", "model: m\nvars: {shop: Acme}\nsystem: |\n  You help {{ shop }}.\n  Be {{ tone }}.\n")
    files.write("file.yaml", "model: m\nsystem_file: prompts/support.j2\n")
    files.write("flow.yaml", "model: m\nsystem: 'Hi {{ who }}'\n")
    files.write("attr.yaml", "model: m\nvars: {user: {}}\nsystem: |\n  Hi\n  {{ user.name }}\n")

    fix = "give it a default under `vars:`, or pass --var {0}=... to `agentkit run`"

    def check(path: str) -> list[str]:
        loaded = load_spec(path)
        return loaded.check_template(loaded.spec.vars)

    assert check("inline.yaml") == [f"inline.yaml:5:9: system: undefined variable 'tone'; {fix.format('tone')}"]
    assert check("file.yaml") == [
        f"prompts/support.j2:1:13: system_file: undefined variable 'shop'; {fix.format('shop')}",
        f"prompts/support.j2:3:12: system_file: undefined variable 'user'; {fix.format('user')}",
    ]
    assert check("flow.yaml") == [f"flow.yaml:2:16: system: undefined variable 'who'; {fix.format('who')}"]
    assert check("attr.yaml") == [
        "attr.yaml:5:3: system: the template does not render: 'dict object' has no attribute 'name'"
    ]
    assert load_spec("inline.yaml").check_template({"shop": "Acme", "tone": "warm"}) == []


def test_extends_cycles_and_missing_bases_are_reported_at_the_extends_line(files: Files) -> None:
    files.write("a.yaml", "model: m\nextends: b.yaml\n")
    files.write("b.yaml", "extends: c.yaml\n")
    files.write("c.yaml", "extends: a.yaml\n")
    files.write("d.yaml", "extends: bsae.yaml\n")
    files.write("base.yaml", "model: m\n")

    assert problems("a.yaml") == [
        "c.yaml:1:10: extends: extends cycle: a.yaml -> b.yaml -> c.yaml -> a.yaml; remove one of these `extends`"
    ]
    assert problems("d.yaml") == ["d.yaml:1:10: extends: no spec file 'bsae.yaml'; did you mean 'base.yaml'?"]


def test_errors_in_a_base_point_into_the_base(files: Files) -> None:
    files.write("shared/base.yaml", "model: m\nmax_turns: 0\ntools: [nowhere_at_all:f]\n")
    files.write("agents/a.yaml", "extends: ../shared/base.yaml\nname: a\n")

    assert problems("agents/a.yaml") == [
        "shared/base.yaml:2:12: max_turns: input should be greater than or equal to 1 (got 0)"
    ]
    files.write("shared/base.yaml", "model: m\ntools: [nowhere_at_all:f]\n")
    assert problems("agents/a.yaml") == [
        "shared/base.yaml:2:9: tools[0]: no module named 'nowhere_at_all' "
        "(searched shared/, then the current directory and sys.path)"
    ]


def test_structural_mistakes(files: Files) -> None:
    files.write("list.yaml", "- model: m\n")
    files.write("nomodel.yaml", "name: x\n")
    files.write("both.yaml", "model: m\nsystem: hi\nsystem_file: p.j2\n")
    files.write("dup.yaml", "model: m\nname: a\nmodel: n\n")
    files.write("nofile.yaml", "model: m\nsystem_file: prompts/missing.j2\n")

    assert problems("list.yaml") == [
        "list.yaml:1:1: a spec is a mapping of settings (model: ..., system: ...), not a list"
    ]
    assert problems("nomodel.yaml") == [
        "nomodel.yaml:1:1: model: missing; add the model id, e.g. `model: claude-sonnet-4-6`"
    ]
    assert problems("both.yaml") == ["both.yaml:3:1: system_file: give `system` or `system_file`, not both"]
    assert problems("dup.yaml") == ["dup.yaml:3:1: model: duplicate key (first at line 1); keep one"]
    assert problems("nofile.yaml") == [
        "nofile.yaml:2:14: system_file: cannot read 'prompts/missing.j2': No such file or directory"
    ]
    assert problems("absent.yaml") == ["absent.yaml: cannot read the spec: No such file or directory"]


def test_an_unknown_memory_strategy_lists_the_known_ones(files: Files) -> None:
    files.write("a.yaml", "model: m\nmemory:\n  budget: 1000\n  strategy: dropoldest\n")

    [problem] = problems("a.yaml")
    assert problem.startswith("a.yaml:4:13: memory.strategy: memory='dropoldest' is not a strategy; use one of ")
    assert "drop_oldest" in problem


def test_load_agent_raises_the_same_errors(files: Files) -> None:
    files.write("a.yaml", "model: m\ntemprature: 1\n")

    with pytest.raises(SpecError, match=r"^a.yaml:2:1: temprature: unknown field 'temprature'; did you mean"):
        load_agent("a.yaml")
