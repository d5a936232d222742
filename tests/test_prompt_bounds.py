"""The template sandbox is bounded: no prompt can build a huge value, ordinary templates render as before."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentkit import PromptError
from agentkit.prompts import SystemPrompt


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("{{ '-' * 40 }}|{{ [1] * 3 }}", "----------------------------------------|[1, 1, 1]"),
        ("{{ '%d'|format(12345678) }} {{ '%05.1f' % 3.14159 }} {{ '%(a)s' % {'a': 1} }}", "12345678 003.1 1"),
        ("{{ 2 ** 64 }} {{ 'x'|center(5) }}|{{ 'ab'.ljust(4) }}|", "18446744073709551616   x  |ab  |"),
    ],
)
def test_ordinary_templates_render_as_before(source: str, expected: str) -> None:
    assert SystemPrompt(source).render({}) == expected


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("{{ 'a' * 10**10 }}", "1 * 10,000,000,000 is longer than 2,000,000 items"),
        ("{{ [0] * 10**8 }}", "1 * 100,000,000 is longer than 2,000,000 items"),
        ("{{ 9 ** (10**6) }}", "9 ** 1000000 is too large a number for a template"),
        ("{{ '%*s' % (10**9, 'x') }}", "% with 1,000,000,000: widths above 2,000,000 are refused"),
        ("{{ '%1000000000s' % 'x' }}", "a %-format width of 1,000,000,000"),
        ("{{ '%*s'|format(10**9, 'x') }}", "% with 1,000,000,000"),
        ("{{ ''|indent(10**9, true) }}", "indent with 1,000,000,000"),
        ("{{ 'x'.zfill(10**9) }}", "zfill with 1,000,000,000"),
        ("{% for i in range(3000) %}{{ 'x' * 1000 }}{% endfor %}", "renders to more than 2,000,000 characters"),
    ],
)
def test_templates_that_would_exhaust_memory_are_prompt_errors(source: str, expected: str) -> None:
    with pytest.raises(PromptError) as caught:
        SystemPrompt(source).render({})
    assert caught.value.args[0].startswith("<system>")
    assert expected in str(caught.value)


def test_an_include_over_the_size_limit_is_not_read(tmp_path: Path) -> None:
    (tmp_path / "main.j2").write_text("Rules: {% include 'big.j2' %}")
    (tmp_path / "big.j2").write_text("x" * 2_000_001)
    (tmp_path / "small.j2").write_text("Be brief.")
    (tmp_path / "ok.j2").write_text("Rules: {% include 'small.j2' %}")

    assert SystemPrompt.from_file(tmp_path / "ok.j2").render({}) == "Rules: Be brief."
    with pytest.raises(PromptError, match=r"'big.j2' is larger than 2,000,000 bytes"):
        SystemPrompt.from_file(tmp_path / "main.j2").render({})
