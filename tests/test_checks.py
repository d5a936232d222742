"""`agentkit._checks`: a prompt or history the API would refuse fails before sending, naming the place and fix."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from agentkit import InputError
from agentkit._checks import block_problem, check_history, check_prompt, find_surrogate
from agentkit.testing import text, thinking, tool_use, validate, with_tools

CALL = tool_use("add", {"a": 1}, id="toolu_1")
CALL2 = tool_use("add", {"a": 2}, id="toolu_2")
RESULT = {"type": "tool_result", "tool_use_id": "toolu_1", "content": "2"}
RESULT2 = {"type": "tool_result", "tool_use_id": "toolu_2", "content": "3"}
IMAGE = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}}
LONE = "caf\udce9"  # what os.fsdecode or errors="surrogateescape" makes of b"caf\xe9"


def user(content: Any) -> dict[str, Any]:
    return {"role": "user", "content": content}


def assistant(content: Any) -> dict[str, Any]:
    return {"role": "assistant", "content": content}


# -- prompts ----------------------------------------------------------------------------------------

BAD_PROMPTS: dict[str, tuple[Any, str]] = {
    "empty": ("", r"^prompt: the prompt is empty, and the API refuses a user message without text; pass"),
    "whitespace": (" \n\t", r"^prompt: the prompt is whitespace only"),
    "no blocks": ([], r"^prompt: the list of content blocks is empty; pass at least one block"),
    "an empty text block": ([IMAGE, text("")], r"^prompt\[1\]: a text block with no text \(empty or whitespace"),
    "a blank text block": ([text("  ")], r"^prompt\[0\]: a text block with no text"),
    "not text": (42, r"^prompt: expected a string or a list of content blocks, got int"),
    "bytes": (b"hi", r"^prompt: expected a string or a list of content blocks, got bytes"),
    "a lone surrogate": (LONE, r"^prompt: a lone surrogate U\+DCE9 at character 3; it cannot be encoded as UTF-8"),
    "a lone surrogate in a block": (
        [text("look"), text(f"at {LONE}")],
        r"^prompt\[1\]\.text: a lone surrogate U\+DCE9 at character 6;",
    ),
    "a lone surrogate deep in a block": (
        [{"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": LONE}}, text("sum")],
        r"^prompt\[0\]\.source\.data: a lone surrogate",
    ),
}


@pytest.mark.parametrize("case", list(BAD_PROMPTS))
def test_a_bad_prompt_is_an_input_error_naming_the_place_and_the_fix(case: str) -> None:
    prompt, expected = BAD_PROMPTS[case]
    with pytest.raises(InputError, match=expected):
        check_prompt(prompt)


@pytest.mark.parametrize(
    "prompt",
    ["hi", "  padded  ", [text("What is this?"), IMAGE], [IMAGE], ("a", "tuple")[0], "caf\u00e9 \U0001f600"],
    ids=["text", "padded", "blocks", "an image alone", "str from a tuple", "accents and emoji"],
)
def test_a_good_prompt_passes(prompt: Any) -> None:
    check_prompt(prompt)


def test_the_surrogate_message_says_how_to_fix_it() -> None:
    with pytest.raises(InputError) as caught:
        check_prompt(LONE)
    assert "errors='replace'" in str(caught.value)
    assert "surrogateescape" in str(caught.value)


# -- histories --------------------------------------------------------------------------------------

LOOP = [user("add 1"), assistant([text("Adding."), CALL]), user([RESULT])]

BAD_HISTORIES: dict[str, tuple[Any, str]] = {
    "not a list": ("hi", r"^history: expected a list of messages, got str; pass a previous result's messages"),
    "not a message": ([user("hi"), "hello"], r"^history\[1\]: expected a message \{'role': \.\.\., 'content'"),
    "no content": ([{"role": "user"}], r"^history\[0\]: expected a message"),
    "a system message": (
        [{"role": "system", "content": "Be terse."}, user("hi")],
        r"^history\[0\]: role 'system' is not one the Messages API takes \('user' or 'assistant'\); pass the "
        r"system prompt as system=",
    ),
    "a tool message": (
        [user("hi"), {"role": "tool", "content": "2"}],
        r"^history\[1\]: role 'tool' is not one .*; use 'user' for what the user or a tool said",
    ),
    "content not a list": ([user({"text": "hi"})], r"^history\[0\]\.content: expected a string or a list"),
    "two assistant turns": (
        [user("hi"), assistant("Hello."), assistant("How can I help?")],
        r"^history\[2\]: two assistant messages in a row \(history\[1\] and history\[2\]\); merge their content",
    ),
    "an orphan result": (
        [user("hi"), assistant("Hello."), user([RESULT])],
        r"^history\[2\]\.content\[0\]: tool_result for 'toolu_1' answers no tool_use of history\[1\]; each "
        r"tool_result must answer a tool_use of the assistant message just before it",
    ),
    "a result first of all": ([user([RESULT])], r"^history\[0\]\.content\[0\]: .* \(no assistant message precedes"),
    "a result two turns late": (
        [*LOOP, assistant("2"), user([RESULT])],
        r"^history\[4\]\.content\[0\]: tool_result for 'toolu_1' answers no tool_use of history\[3\]",
    ),
    "an unanswered call": (
        [user("add"), assistant([CALL]), user("well?")],
        r"^history\[1\]\.content\[0\]: tool_use 'toolu_1' has no tool_result in the user message after it; "
        r"answer it there, first in the message: \{'type': 'tool_result', 'tool_use_id': 'toolu_1'",
    ),
    "one of two calls unanswered": (
        [user("add"), assistant([text("Both."), CALL, CALL2]), user([RESULT]), assistant("3")],
        r"^history\[1\]\.content\[2\]: tool_use 'toolu_2' has no tool_result",
    ),
    "an unanswered call then the model again": (
        [user("add"), assistant([CALL]), user("hm"), assistant("ok"), user("go")],
        r"^history\[1\]\.content\[0\]: tool_use 'toolu_1'",
    ),
    "a result after text": (
        [*LOOP[:2], user([text("Here:"), RESULT])],
        r"^history\[2\]\.content\[1\]: a tool_result after another block \(history\[2\]\.content\[0\]\); put "
        r"every tool_result first",
    ),
    "a result after text of an earlier user message": (
        [user("add"), assistant([CALL, CALL2]), user([RESULT, text("and")]), user([RESULT2])],
        r"^history\[3\]\.content\[0\]: a tool_result after another block \(history\[2\]\.content\[1\]\)",
    ),
    "a lone surrogate in a user string": (
        [user("hi"), assistant("Hello."), user(LONE)],
        r"^history\[2\]\.content: a lone surrogate U\+DCE9 at character 3",
    ),
    "a lone surrogate in a tool result": (
        [*LOOP[:2], user([{**RESULT, "content": [text("ok"), text(LONE)]}])],
        r"^history\[2\]\.content\[0\]\.content\[1\]\.text: a lone surrogate",
    ),
    "a lone surrogate in tool input": (
        [user("add"), assistant([tool_use("add", {"note": [LONE]}, id="toolu_1")]), user([RESULT])],
        r"^history\[1\]\.content\[0\]\.input\.note\[0\]: a lone surrogate",
    ),
}


@pytest.mark.parametrize("case", list(BAD_HISTORIES))
def test_a_bad_history_is_an_input_error_naming_the_message_and_the_fix(case: str) -> None:
    history, expected = BAD_HISTORIES[case]
    with pytest.raises(InputError, match=expected):
        check_history(history)


GOOD_HISTORIES: dict[str, list[Any]] = {
    "none": [],
    "a chat": [user("hi"), assistant("Hello."), user("How are you?")],
    "a tool loop": [*LOOP, assistant("2")],
    "results, then text": [*LOOP[:2], user([RESULT, text("go on")])],
    "parallel results in another order": [user("add"), assistant([CALL, CALL2]), user([RESULT2, RESULT])],
    "results over consecutive user messages": [user("add"), assistant([CALL, CALL2]), user([RESULT]), user([RESULT2])],
    "a call still waiting in the last message": [user("add"), assistant([CALL])],
    "consecutive user messages": [user("a"), user("b"), assistant("c")],
    "assistant first": [assistant("Hello! How can I help?"), user("hi")],
    "thinking and images": [
        user([text("What is this?"), IMAGE]),
        assistant([thinking("A pixel."), CALL]),
        user([{**RESULT, "content": [text("a png"), IMAGE]}]),
    ],
    "accents and emoji": [user("caf\u00e9 \U0001f600"), assistant("Bonjour !")],
}


@pytest.mark.parametrize("case", list(GOOD_HISTORIES))
def test_a_good_history_passes_and_the_api_would_take_it(case: str) -> None:
    history = GOOD_HISTORIES[case]
    check_history(history)
    if history and history[-1]["role"] == "user":  # what the validator says of the same history
        assert validate(with_tools({"model": "claude-haiku-4-5", "max_tokens": 10, "messages": history})) is None


@pytest.mark.parametrize(
    "case", [c for c in BAD_HISTORIES if BAD_HISTORIES[c][0] and isinstance(BAD_HISTORIES[c][0], list)]
)
def test_what_check_history_refuses_the_validator_refuses_or_cannot_encode(case: str) -> None:
    history = BAD_HISTORIES[case][0]
    if find_surrogate(history) is not None or case == "two assistant turns":
        return  # not encodable at all / refused by agentkit though the API merges the two turns
    body = with_tools({"model": "claude-haiku-4-5", "max_tokens": 10, "messages": [*history, user("next")]})
    assert validate(body) is not None


def test_sdk_models_in_the_history_are_read_as_their_dicts() -> None:
    from anthropic.types import TextBlock, ToolUseBlock

    message = assistant(
        [TextBlock(type="text", text="Adding."), ToolUseBlock(type="tool_use", id="toolu_1", name="add", input={})]
    )
    check_history([user("add"), message, user([RESULT])])
    with pytest.raises(InputError, match=r"^history\[1\]\.content\[1\]: tool_use 'toolu_1' has no tool_result"):
        check_history([user("add"), message, user("well?")])


# -- blocks and surrogates -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("block", "problem"),
    [
        (text("ok"), None),
        (IMAGE, None),
        ({"type": "image", "source": {"type": "url", "url": "https://x/a.png"}}, None),
        ({"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "t"}, "title": "T"}, None),
        ({"type": "search_result", "source": "https://x", "title": "X", "content": [text("found")]}, None),
        ({"type": "text", "value": 3}, "a text block takes no 'value'"),
        ({"type": "text"}, "a text block needs non-empty 'text'"),
        ({"type": "text", "text": 3}, "a text block needs non-empty 'text'"),
        (text(" "), "a text block needs non-empty 'text'"),
        ({"type": "image"}, "an image block needs a 'source' object"),
        (
            {"type": "image", "source": {"type": "base64", "media_type": "image/bmp", "data": "Qk0="}},
            "an image of media_type 'image/bmp' is not one of",
        ),
        (
            {"type": "image", "source": {"type": "base64", "media_type": "image/png"}},
            "an image source of type 'base64' needs 'data'",
        ),
        (
            {"type": "image", "source": {"type": "text", "data": "x"}},
            "an image source of type 'text' is not one the API takes",
        ),
        (
            {"type": "document", "source": {"type": "base64", "media_type": "image/png", "data": "x"}},
            "a document of media_type 'image/png'",
        ),
        (
            {"type": "document", "source": {"type": "text", "media_type": "text/html", "data": "x"}},
            "a text document needs media_type 'text/plain'",
        ),
        (
            {"type": "search_result", "source": "s", "title": "t", "content": []},
            "a search_result block needs 'content'",
        ),
        (
            {"type": "search_result", "title": "t", "content": [text("x")]},
            "a search_result block needs 'source' and 'title'",
        ),
        ({"type": "video"}, "type 'video' is not one of 'text', 'image', 'document', 'search_result'"),
        ("text", "not a JSON object"),
    ],
)
def test_block_problem_names_what_is_wrong(block: Any, problem: str | None) -> None:
    found = block_problem(block)
    assert found == problem if problem is None else (found or "").startswith(problem), found


def test_find_surrogate_reports_the_path_the_index_and_the_character() -> None:
    assert find_surrogate({"a": [1, ("x", f"ab{LONE}")]}, "v") == ("v.a[1][1]", 5, "\udce9")
    assert find_surrogate(["fine", {"k": "caf\u00e9"}, 3, None]) is None
    assert find_surrogate("\ud83d\ude00"[:1]) == ("", 0, "\ud83d")  # half of a pair


def test_the_checks_import_without_the_sdk() -> None:
    code = "import sys, agentkit._checks; print(any(m.startswith('anthropic') for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_a_checked_history_that_grew_is_checked_again_where_it_grew() -> None:
    history: list[dict[str, object]] = [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": [{"type": "text", "text": "Hello."}]},
    ]
    check_history(history)  # remembered as checked
    history.append({"role": "user", "content": "caf\udce9"})
    with pytest.raises(InputError, match=r"history\[2\]\.content"):
        check_history(history)
    history[2] = {"role": "assistant", "content": "again"}
    with pytest.raises(InputError, match="two assistant messages in a row"):
        check_history(history)


def test_a_runs_history_is_checked_again_once_changed_where_it_was_marked() -> None:
    from agentkit._history import History

    history = History([{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello."}])
    history.checked = (2, history[-1])  # as a run leaves it
    check_history(history)
    history[-1] = {"role": "assistant", "content": [{"type": "text", "text": LONE}]}  # edited in place
    with pytest.raises(InputError, match=r"history\[1\]\.content"):
        check_history(history)
