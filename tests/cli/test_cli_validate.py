"""`agentkit validate` on specs that used to crash or hang it: each is exit 2 and one `file:line:column`
line, with no traceback. An alias bomb or a runaway template would hang these tests without the bounds."""

from __future__ import annotations

import io
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from agentkit import InputError, RunError, SessionBusy, SpecError
from agentkit.cli import exit_code

if TYPE_CHECKING:
    from conftest import Cli, Files  # the fixtures' types (each test folder has its conftest)

    from agentkit.testing import MessagesServer

LOCATED = re.compile(r"^a\.yaml:\d+:\d+: ")


def only_problem(agentkit: Cli, text: str) -> str:
    """Validate a.yaml holding `text`: exit 2, nothing on stdout, one located line on stderr."""
    (agentkit.files_root / "a.yaml").write_text(text, encoding="utf-8")
    result = agentkit("validate", "a.yaml")
    assert (result.exit_code, result.stdout) == (2, ""), result.output
    [line] = result.stderr.splitlines()
    assert LOCATED.match(line), line
    return line


BOMB = "\n".join(
    [
        "model: m",
        "a0: &a0 [x, x, x, x, x, x, x, x, x]",
        *(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)),
        "vars: {bomb: *a9}",
    ]
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("model: m\nsystem: 'a\x07b'\n", "a.yaml:2:11: invalid YAML: the control character #x0007"),
        ("model: m\nvars: {a: " + "[" * 2000 + "]" * 2000 + "}\n", "a.yaml:2:73: invalid YAML: values nested more"),
        (BOMB, "a.yaml:12:14: invalid YAML: the aliases expand to more than 100,000 values"),
        ("model: m\nmax_turns: " + "9" * 5000 + "\n", "a.yaml:2:12: invalid YAML: a number too long to read"),
        ("model: m\nvars: {day: 2024-13-45}\n", "a.yaml:2:13: invalid YAML: month must be in 1..12"),
        ("model: m\nsystem_file: /dev/zero\n", "a.yaml:2:14: system_file: cannot read '/dev/zero': not a regular file"),
        ("model: m\nsystem_file: .\n", "a.yaml:2:14: system_file: cannot read '.': not a regular file (a directory)"),
    ],
    ids=["control-character", "nested-2000-deep", "alias-bomb", "5000-digits", "bad-date", "dev-zero", "directory"],
)
def test_yaml_and_files_that_crashed_or_hung_are_located_errors(agentkit: Cli, text: str, expected: str) -> None:
    assert only_problem(agentkit, text).startswith(expected)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are POSIX")
def test_a_fifo_as_system_file_is_refused_without_waiting_for_a_writer(agentkit: Cli, files: Files) -> None:
    os.mkfifo(files.root / "prompt.fifo")

    line = only_problem(agentkit, "model: m\nsystem_file: prompt.fifo\n")

    assert line == "a.yaml:2:14: system_file: cannot read 'prompt.fifo': not a regular file (a FIFO)"


def test_a_spec_file_over_the_size_limit_is_not_read(agentkit: Cli, files: Files) -> None:
    (files.root / "a.yaml").write_text("model: m\n# " + "x" * 1_100_000 + "\n")

    result = agentkit("validate", "a.yaml")

    assert (result.exit_code, result.stderr) == (2, "a.yaml: cannot read the spec: larger than 1,000,000 bytes\n")


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ 1/0 }}", "the template does not render: ZeroDivisionError: division by zero"),
        ("{{ x|nofilter }}", "the template does not compile: No filter named 'nofilter'."),
        ("{% include 'rules.j2' %}", "the template does not render: {% include %}, {% import %} and {% extends %}"),
        ("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", "it recurses without end"),
        ("{{ range(10**9)|list }}", "OverflowError: Range too big."),
        ("{{ 'a' * 10**10 }}", "1 * 10,000,000,000 is longer than 2,000,000 items"),
        ("{{ ''|center(10**9) }}", "center with 1,000,000,000: widths above 2,000,000 are refused"),
        ("{{ ''.ljust(10**9) }}", "ljust with 1,000,000,000: widths above 2,000,000 are refused"),
        ("{{ 7 ** 999999 }}", "7 ** 999999 is too large a number for a template"),
        ("{% for i in range(2000) %}{{ 'x' * 2000 }}{% endfor %}", "renders to more than 2,000,000 characters"),
    ],
    ids=["zero-division", "unknown-filter", "include-inline", "recursive-macro", "range", "repeat", "center",
         "ljust", "power", "output-size"],
)  # fmt: skip
def test_template_runtime_errors_are_located(agentkit: Cli, template: str, expected: str) -> None:
    line = only_problem(agentkit, f'model: m\nvars: {{x: 1}}\nsystem: "{template}"\n')

    assert line.startswith("a.yaml:3:10: system: ")
    assert expected in line


def test_a_template_that_loops_too_long_is_stopped(agentkit: Cli) -> None:
    loops = "{% for i in range(99999) %}{% for j in range(99999) %}{% endfor %}{% endfor %}"

    line = only_problem(agentkit, f'model: m\nsystem: "{loops}"\n')

    assert line == "a.yaml:2:10: system: the template does not render: it ran for more than 3 s (a loop too long?)"


def test_a_tool_module_that_exits_is_exit_2_and_validation_goes_on(agentkit: Cli, files: Files) -> None:
    files.write("quitter.py", "import sys\nsys.exit(0)\n")
    files.write("a.yaml", "model: m\ntools: [quitter:f]\n")
    files.write("b.yaml", "model: m\n")

    result = agentkit("validate", "a.yaml", "b.yaml")

    assert result.exit_code == 2
    assert result.stderr == "a.yaml:2:9: tools[0]: importing 'quitter' failed: it called sys.exit(0)\n"
    assert result.stdout == "b.yaml: ok (agent 'b', model m)\n"


def test_every_agentkit_error_has_its_exit_code() -> None:
    assert exit_code(SpecError(["a.yaml:1:1: model: missing"])) == (2, "a.yaml:1:1: model: missing")
    assert exit_code(InputError("an image over 5 MB")) == (2, "Error: InputError: an image over 5 MB")
    assert exit_code(RunError("stopped")) == (1, "Error: RunError: stopped")
    assert exit_code(SessionBusy("in use")) == (1, "Error: SessionBusy: in use")


def test_a_busy_session_exits_1_with_one_line(agentkit: Cli, files: Files, tmp_path: Path) -> None:
    import anyio

    from agentkit.sessions import SQLiteSessionStore

    db = tmp_path / "sessions.sqlite3"
    anyio.run(SQLiteSessionStore(db).acquire, "s1", "another-run")  # held by a live run (this process)
    files.write("a.yaml", "model: claude-haiku-4-5\n")

    for command in (["run", "a.yaml", "hi"], ["chat", "a.yaml"]):
        result = agentkit(*command, "--session", "s1", input="hi\n", env={"AGENTKIT_SESSIONS": str(db)})

        assert (result.exit_code, result.stdout) == (1, ""), result.output
        assert result.stderr.startswith("Error: SessionBusy: Session 's1' is in use by another run (owner ")


def test_ctrl_c_at_the_chat_prompt_leaves_with_130(files: Files, messages_server: MessagesServer) -> None:
    from agentkit import load_agent
    from agentkit._cli_chat import chat_loop
    from agentkit.testing import Reply

    class CtrlCAfterOneLine(io.StringIO):
        def readline(self, size: int | None = -1) -> str:
            line = super().readline()
            if not line:
                raise KeyboardInterrupt
            return line

    files.write("a.yaml", "model: claude-haiku-4-5\n")
    messages_server.script(Reply.text("Hi."), Reply.text("Hi again."))
    agent = load_agent("a.yaml", client=messages_server.client())

    assert chat_loop(agent, {}, CtrlCAfterOneLine("hello\n"), progress=False) == (130, False)
    assert chat_loop(agent, {}, io.StringIO("hello\n"), progress=False) == (0, False)  # Ctrl-D: 0
