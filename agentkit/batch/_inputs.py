"""What a batch job takes and gives: its inputs, each input's outcome, the progress, the totals."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeAlias, cast

from ..errors import ConfigurationError
from ..usage import Usage

if TYPE_CHECKING:
    from anthropic.types import MessageParam

    from ..fanout import Job
    from ..result import RunResult
    from ._store import StoredRun

__all__ = [
    "BatchInput",
    "BatchItem",
    "BatchProgress",
    "BatchResult",
    "InputLike",
    "deps_by_index",
    "normalise",
    "saved_input",
]

Prompt = str | Sequence[dict[str, Any]]


@dataclass(frozen=True)
class BatchInput:
    """One input of a batch job: what `Agent.run` takes, and a stable id.

    Args:
        id: Names the input in results, progress and a resumed job; unique in the job.
        prompt: The user prompt (text or content blocks).
        vars: Template variables for the system prompt, over the agent's.
        deps: Reach tools through `RunContext.deps`; not saved (pass the inputs again to resume).
        history: Earlier messages the run continues from.
    """

    id: str
    prompt: Prompt | None = None
    vars: Mapping[str, Any] | None = None
    deps: Any = None
    history: Sequence[MessageParam] | None = None


InputLike: TypeAlias = "BatchInput | str | Sequence[dict[str, Any]] | Mapping[str, Any] | Job"
"""What `run_batch` takes as an input: a prompt, a `BatchInput`, a mapping of its fields, or a fan-out `Job`."""


@dataclass
class BatchItem:
    """The outcome of one input: its `RunResult`, or the typed error it failed with.

    `usage` is what the batches billed for this input (every result received, across resumes);
    `cost_usd` prices it with the batch discount, None when the model has no known price.
    """

    id: str
    index: int
    result: RunResult[Any] | None = None
    error: Exception | None = None
    usage: Usage = field(default_factory=Usage)
    cache_write_1h_tokens: int = 0
    cost_usd: float | None = None

    @property
    def ok(self) -> bool:
        """Whether the run finished with a result."""
        return self.result is not None

    @property
    def output(self) -> Any:
        """The run's output, or None if it failed."""
        return self.result.output if self.result is not None else None


@dataclass(frozen=True)
class BatchProgress:
    """Where a job stands, given to `on_progress` whenever it changes."""

    job_id: str
    runs: int
    done: int
    failed: int
    batches_submitted: int
    batches_in_flight: int
    requests_in_flight: int
    usage: Usage
    cost_usd: float | None


@dataclass
class BatchResult:
    """Every input's outcome in input order, and the job's totals."""

    job_id: str
    items: list[BatchItem]
    usage: Usage
    cost_usd: float | None
    batches: list[str]
    """The ids of every batch the job submitted, across resumes."""

    def __iter__(self) -> Any:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    @property
    def failed(self) -> list[BatchItem]:
        """The items that ended in an error."""
        return [item for item in self.items if not item.ok]


def normalise(inputs: Iterable[InputLike], vars: Mapping[str, Any] | None = None, deps: Any = None) -> list[BatchInput]:
    """The inputs as `BatchInput`s (ids unique, each with a prompt), over the job-wide `vars` and `deps`."""
    given: list[BatchInput] = []
    seen: dict[str, int] = {}
    for n, raw in enumerate(inputs):
        if isinstance(raw, BatchInput):
            item = raw
        elif isinstance(raw, str | list):  # a prompt: text or content blocks
            item = BatchInput(str(n), raw)
        elif _is_fanout_job(raw):
            job = cast("Job", raw)
            if getattr(raw, "agent", None) is not None or getattr(raw, "session", None) is not None:
                raise ConfigurationError(
                    f"Batch input #{n}: a batch job runs one agent and keeps its own histories; "
                    "leave Job.agent and Job.session unset"
                )
            item = BatchInput(str(n), job.prompt, vars=job.vars, deps=job.deps, history=job.history)
        elif isinstance(raw, Mapping):
            unknown = sorted(set(raw) - {f.name for f in dataclasses.fields(BatchInput)})
            if unknown:
                raise ConfigurationError(
                    f"Batch input #{n}: unknown field {unknown[0]!r}; use id, prompt, vars, deps, history"
                )
            item = BatchInput(**{**raw, "id": str(raw.get("id", n))})
        else:
            raise ConfigurationError(
                f"Batch input #{n} is a {type(raw).__name__}; pass a prompt, a BatchInput or a mapping"
            )
        if vars or deps is not None:
            merged = {**(vars or {}), **(item.vars or {})}
            item = dataclasses.replace(item, vars=merged, deps=item.deps if item.deps is not None else deps)
        if item.id in seen:
            raise ConfigurationError(
                f"Batch inputs #{seen[item.id]} and #{n} have the same id {item.id!r}; ids must be unique"
            )
        if item.prompt is None:
            raise ConfigurationError(f"Batch input {item.id!r} (#{n}) has no prompt")
        seen[item.id] = n
        given.append(item)
    return given


def _is_fanout_job(value: Any) -> bool:
    """An `agentkit.fanout.Job` (what `Agent.map` takes), without importing the fan-out module."""
    return type(value).__name__ == "Job" and all(hasattr(value, a) for a in ("prompt", "vars", "deps", "history"))


def saved_input(item: BatchInput) -> dict[str, Any]:
    """What is saved of an input to resume it: all but `deps`, as JSON."""
    import json

    from pydantic_core import to_jsonable_python

    data = {"prompt": item.prompt, "vars": dict(item.vars or {}), "history": list(item.history or [])}
    try:
        json.dumps(data)
    except (TypeError, ValueError):
        try:
            data = to_jsonable_python(data)
        except Exception as exc:
            raise ConfigurationError(
                f"Batch input {item.id!r}: its prompt, vars and history are saved to resume the job and must be "
                f"JSON-serialisable ({exc}); pass other objects through deps"
            ) from None
    return data


def deps_by_index(saved: list[StoredRun], given: list[BatchInput] | None) -> dict[int, Any]:
    if given is None:
        return {}
    by_id = {item.id: item.deps for item in given}
    unknown = sorted(set(by_id) - {r.input_id for r in saved})
    if unknown:
        raise ConfigurationError(f"Input {unknown[0]!r} is not part of this job; resume with the job's own inputs")
    return {r.index: by_id.get(r.input_id) for r in saved}
