"""The fault matrix (issue 14): every fault `agentkit.testing` offers, at every position of a run.

One plan runs in every cell: the model notes `n1` with a tool, then `n2`, then answers with a text cut
at `max_tokens` that is continued ("The notes are n1" + " and n2."). One fault is injected at one
position (the first call, the call between the tool turns, the continuation after a user turn, the
continuation as an assistant prefill), streamed or not, paced or not (a server that sends rate-limit
headers, so agentkit's pacer retries with the SDK's retries off), once (the run should survive it) or
at every attempt (the retries run out: the run must fail typed). The client has `max_retries=1`;
scripted errors carry `retry-after-ms`, so the SDK waits a millisecond. Each cell checks what a user
would notice:

- the run returns the planned answer, or raises an `APIError` with the right `error_type`, never
  a raw SDK or transport exception;
- its history (`result.messages` or `error.messages`) is valid to send, and a second run from it
  (`history=`) finishes the plan;
- no tool ran twice, over both runs, and every tool that ran has its result in the final history;
- streamed, the text rebuilt from the events (dropping on `Retrying` what was streamed since the last
  `ModelCallStarted`) equals the text of each finished turn, the answer included.

The full cross product (832 cells, ~6 min) is marked `slow`: the retries wait out the SDK's and
agentkit's backoff for faults that carry no `retry-after`. Two cells per fault (once, and at every
attempt, at rotating positions and modes) run by default, in ~30 s. With `-s` the module prints the
table of the closing note (fault x position: tried / survived / typed error / lost / duplicated).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from agentkit import Agent, AgentkitError, APIError, ModelCallStarted, Retrying, RunResult, TextDelta, TurnFinished
from agentkit.testing import Fault, MessagesServer, RateLimits, Reply, Request, text, tool_use, validate, with_tools
from agentkit.testing._script import ERROR_TYPES

pytestmark = pytest.mark.anyio

MODEL = "claude-sonnet-4-6"
ANSWER = "The notes are n1 and n2."
CUT_PIECE = "The notes are n1"  # the first piece of the answer, cut at max_tokens
HANG = 1.0  # a hang outlasts the short client timeout of the read-timeout cells
TIMEOUT = 0.25
# The error types the API retries (429, 5xx, 529): an `event: error` of these types is retried too.
RETRIED = {"rate_limit_error", "api_error", "timeout_error", "overloaded_error"}

FAULTS: dict[str, Fault] = {
    "429-retry-after": Fault.rate_limit(retry_after=0.01),
    "529-overloaded": Fault.overloaded(),
    "500-api-error": Fault.server_error(),
    "reset": Fault.reset(),
    "read-timeout": Fault.hang(HANG),
    "cut-stream-early": Fault.cut_stream(after_events=3),
    "cut-stream-mid": Fault.cut_stream(after_events=-4),  # in the tool input, or the text
    "cut-stream-late": Fault.cut_stream(after_events=-1),
    "end-stream-early": Fault.end_stream(after_events=3),
    "end-stream-mid": Fault.end_stream(after_events=-4),
    "end-stream-late": Fault.end_stream(after_events=-1),
    "close-stream-early": Fault.close_stream(after_events=3),
    "close-stream-mid": Fault.close_stream(after_events=-4),
    "close-stream-late": Fault.close_stream(after_events=-1),
    "cut-body": Fault.cut_body(),
    **{f"error-event-{kind}": Fault.stream_error(kind) for kind in ERROR_TYPES},
    "error-event-late-overloaded": Fault.stream_error("overloaded_error", after_events=-1),
}
POSITIONS = ("first", "between-tools", "continuation", "prefill-continuation")
# The model of each position: Sonnet 4.6 refuses an assistant prefill, so its answer is continued after
# a user turn; Haiku 4.5 takes the prefill.
MODELS = {"prefill-continuation": "claude-haiku-4-5"}
# Streamed or not; paced: the server sends rate-limit headers, so once the pacer has seen them (after
# the run's first response) attempts go with the SDK's retries off and agentkit retries them itself.
MODES = ("stream", "no-stream", "stream-paced", "no-stream-paced")
PACED = RateLimits(requests_per_minute=100_000)


def expected_error(fault: Fault) -> str | None:
    """The `error_type` a run fails with when `fault` comes at every attempt (None: it survives that)."""
    if fault.kind in ("status", "stream_error"):
        return fault.error_type
    if fault.kind == "hang":
        return "APITimeoutError"
    return "APIConnectionError"  # a reset, or a body that broke or ended early


def fails_at_once(fault: Fault) -> bool:
    """Whether a single `fault` ends the run: an error the API does not ask to retry."""
    return fault.kind in ("status", "stream_error") and fault.error_type not in RETRIED


# -- the scripted model, deciding from the history ----------------------------------------------------


def _results(request: Request) -> list[dict[str, Any]]:
    return [
        block
        for message in request.messages
        if message["role"] == "user" and isinstance(message["content"], list)
        for block in message["content"]
        if block.get("type") == "tool_result"
    ]


def _continues(request: Request) -> bool:
    """A continuation request: the cut piece of the answer is in its history."""
    return any(
        isinstance(message["content"], list) and any(b.get("text") == CUT_PIECE for b in message["content"])
        for message in request.messages
        if message["role"] == "assistant"
    )


def position_of(request: Request) -> str:
    if _continues(request):
        return "continuation"
    return {0: "first", 1: "between-tools"}.get(len(_results(request)), "answer")


def plan(request: Request) -> Reply:
    """Note n1, then n2, then the answer, cut at max_tokens once and continued."""
    if _continues(request):
        return Reply([text(" and n2.")])
    done = len(_results(request))
    if done < 2:
        note = f"n{done + 1}"
        return Reply([text(f"Noting {note}."), tool_use("record", {"note": note})])
    return Reply([text(CUT_PIECE)], stop_reason="max_tokens")


@dataclass
class Injector:
    """The server's handler: `fault` at `position` (once, or at every attempt), else the plan."""

    fault: Fault
    position: str
    persistent: bool
    active: bool = True
    injected: int = 0
    _last: Request | None = None

    def __call__(self, request: Request) -> Reply | Fault:
        if request is self._last:  # the server peeks at the reply a broken body shows, or a hang ended
            return plan(request)
        self._last = request
        position = self.position.removeprefix("prefill-")
        if self.active and position_of(request) == position and (self.persistent or not self.injected):
            self.injected += 1
            return self.fault
        return plan(request)


# -- one cell -----------------------------------------------------------------------------------------


@dataclass
class Outcome:
    fault: str
    position: str
    mode: str
    persistent: bool
    survived: bool = False
    typed: bool = False
    lost: bool = False
    duplicated: bool = False
    problems: list[str] = field(default_factory=list)


OUTCOMES: list[Outcome] = []


def rebuilt_turns(events: list[Any]) -> dict[int, str]:
    """Each turn's text as a stream consumer rebuilds it: on `Retrying`, drop what the current model
    call streamed since its `ModelCallStarted`."""
    turns: dict[int, str] = {}
    turn, since = 0, 0
    for event in events:
        if isinstance(event, ModelCallStarted):
            turn, since = event.turn, len(turns.get(event.turn, ""))
        elif isinstance(event, Retrying):
            turns[turn] = turns.get(turn, "")[:since]
        elif isinstance(event, TextDelta):
            turns[turn] = turns.get(turn, "") + event.text
    return turns


def finished_texts(events: list[Any]) -> dict[int, str]:
    return {
        e.turn: "".join(b.text for b in e.response.content if b.type == "text")
        for e in events
        if isinstance(e, TurnFinished)
    }


async def attempt(agent: Agent, prompt: str, history: list[Any] | None, stream: bool) -> tuple[Any, list[Any]]:
    """Run once; the result or the exception it raised, and the events streamed."""
    events: list[Any] = []
    try:
        if not stream:
            return await agent.run(prompt, history=history), events
        async with agent.stream(prompt, history=history) as run:
            async for event in run:
                events.append(event)
        return run.result, events
    except Exception as exc:  # the cell judges what was raised
        return exc, events


def resend_problem(messages: list[Any]) -> str | None:
    body = {"model": MODEL, "max_tokens": 100, "messages": [*messages, {"role": "user", "content": "Go on."}]}
    return validate(with_tools(body))


def tool_results(messages: list[Any]) -> Counter[str]:
    return Counter(
        str(block.get("content"))
        for message in messages
        if message["role"] == "user" and isinstance(message["content"], list)
        for block in message["content"]
        if block.get("type") == "tool_result"
    )


async def run_cell(server: MessagesServer, name: str, position: str, mode: str, persistent: bool) -> Outcome:
    fault = FAULTS[name]
    outcome = Outcome(name, position, mode, persistent)
    problems = outcome.problems
    executed: list[str] = []

    def record(note: str) -> str:
        """Record a note."""
        executed.append(note)
        return f"noted {note}"

    injector = Injector(fault, position, persistent)
    server.respond_with(injector)
    timeout = TIMEOUT if fault.kind == "hang" else 10.0
    client = server.client(max_retries=1, timeout=timeout)
    agent = Agent(model=MODELS.get(position, MODEL), tools=[record], client=client, max_tokens=200)
    stream = mode.startswith("stream")

    first, events = await attempt(agent, "Take notes n1 and n2.", None, stream)
    injector.active = False
    if isinstance(first, RunResult):
        outcome.survived = True
        history = first.messages
        if first.output != ANSWER:
            problems.append(f"output {first.output!r}")
    elif isinstance(first, APIError):
        outcome.typed = True
        history = first.messages
        if first.error_type != expected_error(fault):
            problems.append(f"error_type {first.error_type!r}, expected {expected_error(fault)!r}: {first}")
        if not stream and fault.kind == "status" and first.status_code != fault.status:
            problems.append(f"status {first.status_code}, expected {fault.status}")
    else:
        problems.append(f"untyped {type(first).__module__}.{type(first).__name__}: {first}")
        history = first.messages if isinstance(first, AgentkitError) and hasattr(first, "messages") else []
    if injector.injected == 0:
        problems.append(f"the fault never fired at {position}")
    should_survive = not persistent and not fails_at_once(fault)
    if outcome.survived != should_survive and not problems:
        problems.append("survived" if outcome.survived else f"failed: {first!r}")

    if stream and isinstance(first, RunResult | APIError):
        rebuilt, finished = rebuilt_turns(events), finished_texts(events)
        for turn, whole in finished.items():
            if rebuilt.get(turn, "") != whole:
                problems.append(f"turn {turn} streamed {rebuilt.get(turn)!r}, its text is {whole!r}")
        if isinstance(first, RunResult) and rebuilt.get(max(finished, default=0)) != first.output:
            problems.append(f"the answer streamed as {rebuilt}, output {first.output!r}")

    if (problem := resend_problem(history)) is not None:
        outcome.lost = True
        problems.append(f"history not valid to send: {problem}")
    again, _ = await attempt(agent, "Go on.", history, stream=False)
    if not isinstance(again, RunResult):
        outcome.lost = True
        problems.append(f"the second run from the history failed: {again!r}")
    else:
        if again.output != ANSWER:
            problems.append(f"second output {again.output!r}")
        kept = tool_results(again.messages)
        if any(kept[f"noted {note}"] != 1 for note in ("n1", "n2")):
            outcome.lost = True
            problems.append(f"results in the final history: {dict(kept)}")
    counts = Counter(executed)
    if any(n > 1 for n in counts.values()):
        outcome.duplicated = True
        problems.append(f"a tool ran twice: {executed}")
    if server.rejected:
        problems.append(f"requests rejected: {[p for _, p in server.rejected]}")
    return outcome


# -- the matrix ---------------------------------------------------------------------------------------


def cells() -> Iterator[Any]:
    """Every cell; by default, per fault, one survivable cell and one persistent, rotating the position
    and the mode; the rest is marked slow."""
    for i, name in enumerate(FAULTS):
        for position in POSITIONS:
            for mode in MODES:
                for persistent in (False, True):
                    k = i + (1 if persistent else 0)
                    default = position == POSITIONS[k % 4] and mode == MODES[(i + i // 4 + 2 * persistent) % 4]
                    marks = () if default else (pytest.mark.slow,)
                    kind = "persistent" if persistent else "once"
                    yield pytest.param(
                        name, position, mode, persistent, id=f"{name}-{position}-{mode}-{kind}", marks=marks
                    )


@pytest.fixture(scope="module", autouse=True)
def _table() -> Iterator[None]:
    yield
    if OUTCOMES:
        print("\n" + table(OUTCOMES))


def table(outcomes: list[Outcome]) -> str:
    """Fault x position, each cell `tried / survived / typed error / lost / duplicated` over the modes
    and both persistences, and the cells whose checks failed."""
    head = "| fault | " + " | ".join(POSITIONS) + " | failing |"
    rows = [head, "|---" * (len(POSITIONS) + 2) + "|"]

    def counts(group: list[Outcome]) -> str:
        values = (len(group), *(sum(getattr(o, k) for o in group) for k in ("survived", "typed", "lost", "duplicated")))
        return " / ".join(str(v) for v in values) if group else "-"

    for name in [*FAULTS, None]:
        mine = [o for o in outcomes if name is None or o.fault == name]
        if not mine:
            continue
        cells = [counts([o for o in mine if o.position == position]) for position in POSITIONS]
        failing = sum(bool(o.problems) for o in mine)
        rows.append(f"| {name or '**all**'} | " + " | ".join(cells) + f" | {failing} |")
    return "\n".join(rows)


@pytest.mark.parametrize(("name", "position", "mode", "persistent"), list(cells()))
async def test_fault_matrix(name: str, position: str, mode: str, persistent: bool) -> None:
    with MessagesServer(rate_limits=PACED if mode.endswith("paced") else None) as server:
        outcome = await run_cell(server, name, position, mode, persistent)
    OUTCOMES.append(outcome)
    assert outcome.problems == []
