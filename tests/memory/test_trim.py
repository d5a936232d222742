"""Stage 2, trimming: whole units only, chunked cuts on a fixed grid, a typed error when nothing fits."""

from __future__ import annotations

import copy

import pytest

from agentkit import MemoryBudgetExceeded, RunError
from agentkit._loop.sizing import LOCAL
from agentkit._loop.trim import trim, units
from agentkit.testing import validate, with_tools

from .histories import answer, body, conversation, exchange, prompt


def size(messages: list[dict]) -> int:
    return LOCAL.facts(messages).cum[-1]


def test_the_history_splits_into_older_turns_and_the_exchanges_of_the_newest_turn() -> None:
    history = conversation(2, open_turn=3)  # 2 turns of 4 messages, then a prompt and 3 exchanges
    assert [(u.start, u.stop, u.kind, u.protected) for u in units(history)] == [
        (0, 4, "turn", False),
        (4, 8, "turn", False),
        (8, 9, "prompt", True),
        (9, 11, "exchange", False),
        (11, 13, "exchange", False),
        (13, 15, "exchange", True),
    ]


def test_a_history_that_fits_is_sent_as_it_is_in_a_new_list() -> None:
    history = conversation(3)
    result = trim(history, budget=10**6)
    assert result.messages == history
    assert result.messages is not history
    assert result.dropped == ()
    assert result.tokens == size(history)


def test_trimming_drops_the_oldest_whole_turns_and_never_changes_its_input() -> None:
    history = conversation(10)
    before = copy.deepcopy(history)
    result = trim(history, budget=size(history) // 2)
    assert history == before
    assert result.tokens <= size(history) // 2
    assert result.dropped[0][0] == 0
    assert result.messages[0]["role"] == "user"
    assert isinstance(result.messages[0]["content"], str)
    assert validate(with_tools(body(result.messages))) is None
    assert all(any(m is h for h in history) for m in result.messages)  # the same dicts, not copies


def test_a_cut_leaves_about_the_low_watermark_and_stays_put_while_the_history_grows() -> None:
    history = conversation(20)
    budget = size(conversation(12))
    while size(history) <= budget:
        history += [prompt(99), answer(99)]
    grown = list(history)
    first = trim(grown, budget=budget, low_watermark=0.6)
    cuts = []
    for n in range(6):  # a little more history each request: the cut does not move
        grown = [*grown, *exchange(f"more{n}", size=20)]
        cuts.append(trim(grown, budget=budget, low_watermark=0.6).dropped)
    assert all(cut == first.dropped for cut in cuts)
    assert first.tokens <= budget


def test_the_same_history_trims_the_same_way_in_a_new_run() -> None:
    history = conversation(30)
    resumed = [*history, answer(30), prompt(31)]  # the next run: its own prompt, same old history
    added = size(resumed) - size(history)
    equal = 0
    for budget in range(size(history) // 5, size(history), 997):
        run_one = trim(history, budget=budget)
        run_two = trim(resumed, budget=budget, turn_start=len(resumed) - 1)
        assert run_two.dropped[: len(run_one.dropped)] == run_one.dropped  # never an earlier, different cut
        if run_one.tokens + added <= budget:
            assert run_two.dropped == run_one.dropped
            equal += 1
    assert equal >= 3


def test_inside_the_newest_turn_old_exchanges_go_but_the_prompt_and_the_newest_exchange_stay() -> None:
    history = [prompt(0), *[m for e in range(12) for m in exchange(f"e{e}", calls=3)]]
    result = trim(history, budget=size(history) // 3)
    assert result.messages[0] is history[0]
    assert result.messages[-2:] == history[-2:]
    assert result.dropped
    assert all(start >= 1 for start, _ in result.dropped)
    assert validate(with_tools(body(result.messages))) is None


def test_keep_first_keeps_the_first_prompt_and_pins_keep_their_units() -> None:
    history = conversation(12)
    budget = size(history) // 3
    result = trim(history, budget=budget, keep_first=True, pinned={12})
    assert result.messages[0] is history[0]
    assert history[12] in result.messages  # a message of turn 3 (messages 12-15)
    assert all(m in result.messages for m in history[12:16])
    assert validate(with_tools(body(result.messages))) is None
    by_predicate = trim(history, budget=budget, pinned=lambda i, m: i == 12)
    assert all(m in by_predicate.messages for m in history[12:16])


def test_turn_start_keeps_the_task_when_the_run_added_user_text() -> None:
    task = prompt(50)
    feedback = {"role": "user", "content": "That did not match the schema; try again."}
    history = [*conversation(6, open_turn=0)[:-1], task, *exchange("a"), answer(1), feedback, *exchange("b")]
    start = history.index(task)
    result = trim(history, budget=size(history[start:]) + 10, turn_start=start)
    assert task in result.messages
    assert validate(with_tools(body(result.messages))) is None


def test_what_must_stay_but_cannot_fit_raises_before_anything_is_sent() -> None:
    history = [prompt(0), *exchange("big", size=40_000)]
    with pytest.raises(MemoryBudgetExceeded) as raised:
        trim(history, budget=5_000, overhead=1_000)
    error = raised.value
    assert isinstance(error, RunError)
    assert error.budget == 5_000
    assert error.required > 5_000
    assert "memory_budget=5000" in str(error)
    assert "newest turn's prompt and tool exchange" in str(error)


def test_a_low_watermark_outside_zero_to_one_is_refused() -> None:
    with pytest.raises(ValueError, match="low_watermark"):
        trim(conversation(1), budget=10, low_watermark=1.0)


def test_a_runs_kept_layout_serves_only_the_same_list_grown() -> None:
    # The run's counter keeps how trimming laid out its history (`_Layout`); a different list that
    # shares its last message, or a prompt index that only resolves to the last prompt, must trim
    # as they would afresh.
    from agentkit._loop.tokens import TokenCounter

    history = conversation(12)
    budget = size(history) // 2
    start = max(i for i, m in enumerate(history) if isinstance(m["content"], str))

    def both(messages: list[dict], turn_start: int) -> tuple[object, object]:
        again = trim(messages, budget=budget, measure=run, turn_start=turn_start)
        fresh = trim(messages, budget=budget, measure=TokenCounter(model="claude-sonnet-4-6"), turn_start=turn_start)
        return (again.dropped, again.tokens), (fresh.dropped, fresh.tokens)

    run = TokenCounter(model="claude-sonnet-4-6")
    trim(history, budget=budget, measure=run, turn_start=start)
    edited = [{"role": "user", "content": "y" * 4000}, *history[1:]]  # a new list, the same last message
    again, fresh = both(edited, start)
    assert again == fresh

    run = TokenCounter(model="claude-sonnet-4-6")
    grown = list(history)
    trim(grown, budget=budget, measure=run, turn_start=-1)
    grown += [answer(50), prompt(51), *exchange("late"), *exchange("later")]  # the last prompt moved
    again, fresh = both(grown, -1)
    assert again == fresh
