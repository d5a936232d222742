"""The pytest plugin: a test that sent a request the real API would reject fails, unless marked."""

from __future__ import annotations

import ast
import subprocess
import sys

# Imported here so the in-process runs below share it: pytester restores sys.modules after each run,
# and importing the SDK again in every run would cost over a second.
import anthropic  # noqa: F401
import pytest

import agentkit.testing

pytest_plugins = ["pytester"]


def test_a_rejected_request_fails_the_test_unless_it_is_marked(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import anthropic
        import pytest

        def send_an_empty_conversation(server):
            with pytest.raises(anthropic.BadRequestError):
                server.sync_client().messages.create(model="claude-sonnet-5", max_tokens=5, messages=[])

        def test_unmarked(messages_server):
            send_an_empty_conversation(messages_server)

        @pytest.mark.agentkit_allow_rejected
        def test_marked(messages_server):
            send_an_empty_conversation(messages_server)

        def test_valid(messages_server):
            assert messages_server.rejected == []

        @pytest.mark.xfail(strict=True, reason="a known defect sends this request")
        def test_known_defect(messages_server):
            send_an_empty_conversation(messages_server)

        def test_failing_anyway(messages_server):
            send_an_empty_conversation(messages_server)
            assert False, "the body failed too"
        """
    )
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "--strict-markers")
    # The rejection fails the test in its call phase (not as a teardown error), so xfail applies.
    result.assert_outcomes(passed=2, failed=2, xfailed=1)
    result.stdout.fnmatch_lines(
        [
            "*_ test_unmarked _*",
            "*request #1 /v1/messages: messages: at least one message is required*",
            "*Mark the test @pytest.mark.agentkit_allow_rejected*",
        ]
    )
    result.stdout.fnmatch_lines(["*the body failed too*", "*messages_server answered 1 request(s) with a 400*"])
    assert "ERROR at teardown" not in result.stdout.str()


def test_a_handler_error_fails_the_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import anthropic
        import pytest

        def test_broken_handler(messages_server):
            messages_server.respond_with(lambda request: 1 / 0)
            with pytest.raises(anthropic.InternalServerError):
                messages_server.sync_client().messages.create(
                    model="claude-sonnet-5", max_tokens=5, messages=[{"role": "user", "content": "hi"}]
                )
        """
    )
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*a messages_server handler raised: ZeroDivisionError*"])


def _imported_after(code: str) -> list[str]:
    names = "sorted(m for m in sys.modules if m.startswith(('anthropic', 'agentkit')))"
    probe = f"import sys; {code}; print({names})"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    return list(ast.literal_eval(out))


def test_the_plugin_imports_neither_the_server_nor_the_sdk() -> None:
    modules = _imported_after("import agentkit.testing.fixtures")
    assert "agentkit.testing.fixtures" in modules
    assert not [m for m in modules if m.startswith(("anthropic", "agentkit.testing._"))]


def test_the_server_does_not_import_the_sdk_until_a_client_is_made() -> None:
    modules = _imported_after("from agentkit.testing import MessagesServer, Reply, validate")
    assert "agentkit.testing._server" in modules
    assert not any(m.startswith("anthropic") for m in modules)


def test_the_public_names_are_sorted_and_resolve() -> None:
    assert agentkit.testing.__all__ == sorted(agentkit.testing.__all__)
    assert set(agentkit.testing.__all__) == set(agentkit.testing._EXPORTS)
    for name in agentkit.testing.__all__:
        assert getattr(agentkit.testing, name) is not None
    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        _ = agentkit.testing.nope
