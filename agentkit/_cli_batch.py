"""`agentkit batch`: a YAML agent on every line of a JSONL file, through the Message Batches API.

Only click is imported at the top (`agentkit --help` loads this module); the runner, the SDK
and the spec loader load when the command runs. Each input line is `{"id": ..., "prompt": ...}`
or `{"id": ..., "vars": {...}}` (the prompt then comes from `--prompt`, a Jinja template filled
with the line's vars); each output line is `{"id", "output", "usage", "error"}`, in input order.
"""

from __future__ import annotations

import os
import sys
import time
from typing import TYPE_CHECKING, Any, NoReturn

import click

if TYPE_CHECKING:
    from pathlib import Path

    from .batch import BatchItem, BatchProgress, BatchResult

_FIELDS = {"id", "prompt", "vars", "history"}


@click.command()
@click.argument("spec", required=False, type=click.Path(dir_okay=False))
@click.argument("inputs", required=False, type=click.Path(dir_okay=False, exists=True))
@click.option(
    "--output", "-o", type=click.Path(dir_okay=False), help="Write the results here (JSONL; default: stdout)."
)
@click.option("--resume", "resume", metavar="JOB_ID", help="Go on with a job that was stopped; nothing is sent twice.")
@click.option("--job-id", metavar="ID", help="Name the new job (default: a random batch_... id, shown on stderr).")
@click.option(
    "--prompt", "prompt_template", metavar="TEMPLATE", help="The prompt of lines without one, from their vars."
)
@click.option("--var", "var_items", multiple=True, metavar="KEY=VALUE", help="Set a template variable for every line.")
@click.option("--model", "-m", help="Use this model instead of the spec's.")
@click.option("--max-cost", type=float, metavar="USD", help="Submit no new batch once the job has cost this much.")
@click.option(
    "--poll",
    type=float,
    default=2.0,
    show_default=True,
    metavar="SECONDS",
    help="The first wait between polls (x1.5 to 2 min).",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress on stderr.")
def batch(
    spec: str | None,
    inputs: str | None,
    output: str | None,
    resume: str | None,
    job_id: str | None,
    prompt_template: str | None,
    var_items: tuple[str, ...],
    model: str | None,
    max_cost: float | None,
    poll: float,
    quiet: bool,
) -> None:
    """Run an agent on every line of a JSONL file, at batch prices.

    Runs the agent that the YAML file SPEC defines on each line of INPUTS ({"id", "prompt"} or
    {"id", "vars"}), every turn of every line in one Message Batch, and writes {"id", "output",
    "usage", "error"} lines in input order. The job is saved as it goes (beside the sessions,
    $AGENTKIT_SESSIONS): `agentkit batch --resume JOB_ID` goes on after a crash or Ctrl-C.
    Exit codes: 0 every line succeeded, 1 some failed, 2 a bad spec, input or usage, 130 interrupted.
    """
    from pathlib import Path  # here, not at the top: `agentkit --help` imports this module

    from .cli import BAD_SPEC, INTERRUPTED, RUN_FAILED, _parse_vars, exit_code

    variables = _parse_vars(var_items)
    settings: dict[str, Any] = {
        "spec": str(Path(spec).resolve()) if spec else None,
        "model": model,
        "vars": variables,
        "prompt": prompt_template,
        "output": str(Path(output).resolve()) if output else None,
    }
    if resume is not None:
        settings = _resumed_settings(resume, settings, BAD_SPEC)
    elif spec is None or inputs is None:
        raise click.UsageError("give SPEC and INPUTS, or --resume JOB_ID")
    loaded, agent = _load(str(settings["spec"]), settings["model"], BAD_SPEC)
    lines = None
    if resume is None:
        lines = _read_inputs(Path(str(inputs)), prompt_template, variables, BAD_SPEC)
        _check_templates(loaded, lines, Path(str(inputs)), BAD_SPEC)
    import anyio

    from .errors import AgentkitError

    show = _Progress(enabled=not quiet)
    try:
        result = anyio.run(_run, agent, lines, resume, job_id, max_cost, poll, settings, show)
    except KeyboardInterrupt:
        click.echo(f"\nInterrupted; the job is saved: agentkit batch --resume {show.job_id}", err=True)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(INTERRUPTED)  # a sync tool still sleeping in a worker thread would hold the exit
    except AgentkitError as exc:  # cli.exit_code: 2 for a spec or input problem, 1 for a run or store failure
        code, message = exit_code(exc)
        _fail(message, code)
    show.finish(result)
    _write(result, settings["output"])
    if result.failed:
        raise click.exceptions.Exit(RUN_FAILED)


async def _run(
    agent: Any,
    lines: list[dict[str, Any]] | None,
    resume: str | None,
    job_id: str | None,
    max_cost: float | None,
    poll: float,
    settings: dict[str, Any],
    show: _Progress,
) -> BatchResult:
    from .batch import Polling, run_batch
    from .batch._store import JobStore, default_path

    store = JobStore(default_path())
    try:
        if resume is None:
            job_id = job_id or _new_id()
            show.start(job_id)
            store.set_meta(job_id, settings)  # before the job: a crash in between leaves nothing to resume
        else:
            show.start(resume)
        return await run_batch(
            agent,
            lines,
            resume=resume,
            job_id=job_id,
            store=store,
            max_cost=max_cost,
            polling=Polling(first=poll),
            on_progress=show.update,
        )
    finally:
        store.close()


def _new_id() -> str:
    import secrets

    return "batch_" + secrets.token_hex(6)


def _resumed_settings(job: str, given: dict[str, Any], bad: int) -> dict[str, Any]:
    """The job's own spec, vars, model and output, saved when it started; what is given again wins."""
    from .batch._store import JobStore, default_path

    path = default_path()
    store = JobStore(path)
    try:
        saved = store.meta(job)
    finally:
        store.close()
    if saved is None:
        _fail(f"Error: no batch job {job!r} in {path}; check the id, or point $AGENTKIT_SESSIONS where it ran", bad)
    return {**saved, **{k: v for k, v in given.items() if v}}


def _load(path: str, model: str | None, bad: int) -> tuple[Any, Any]:
    """The spec and its agent; exits 2 on a spec problem or a missing API key."""
    from .errors import ConfigurationError
    from .spec import load_spec

    try:
        loaded = load_spec(path)
        agent = loaded.agent(**({"model": model} if model else {}))
    except ConfigurationError as exc:
        _fail(str(exc), bad)
    if not (os.environ.get("ANTHROPIC_API_KEY") or os.environ.get("ANTHROPIC_AUTH_TOKEN")):
        _fail("Error: set ANTHROPIC_API_KEY (and ANTHROPIC_BASE_URL for another endpoint) to run an agent", bad)
    return loaded, agent


def _check_templates(loaded: Any, lines: list[dict[str, Any]], path: Path, bad: int) -> None:
    """The system prompt renders with every line's vars, before anything is sent."""
    for line in lines:
        problems = loaded.check_template({**loaded.spec.vars, **line["vars"]})
        if problems:
            _fail(f"{path}: line id {line['id']!r}: " + "; ".join(problems), bad)


def _read_inputs(path: Path, prompt_template: str | None, common: dict[str, str], bad: int) -> list[dict[str, Any]]:
    """The lines of INPUTS as run_batch inputs; any bad line exits 2 naming file:line and the fix."""
    import json

    from .errors import PromptError
    from .prompts import SystemPrompt

    template = SystemPrompt(prompt_template) if prompt_template else None
    items: list[dict[str, Any]] = []
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                data = json.loads(line)
            except ValueError as exc:
                _fail(f"{where}: not a JSON object ({exc})", bad)
            if not isinstance(data, dict):
                _fail(f"{where}: each line must be a JSON object with id and prompt or vars", bad)
            unknown = sorted(set(data) - _FIELDS)
            if unknown:
                _fail(f"{where}: unknown field {unknown[0]!r}; a line has id, prompt, vars, history", bad)
            line_vars = data.get("vars") or {}
            if not isinstance(line_vars, dict):
                _fail(f"{where}: vars must be a JSON object of template variables", bad)
            item: dict[str, Any] = {"id": str(data.get("id", number)), "vars": {**common, **line_vars}}
            if data.get("history"):
                item["history"] = data["history"]
            if data.get("prompt") is not None:
                item["prompt"] = data["prompt"]
            elif template is not None:
                try:
                    item["prompt"] = template.render(item["vars"])
                except PromptError as exc:
                    _fail(f"{where}: --prompt: {exc}", bad)
            else:
                _fail(
                    f"{where}: no prompt; give the line a prompt, or pass --prompt TEMPLATE to build it from vars", bad
                )
            items.append(item)
    if not items:
        _fail(f"{path}: no input lines", bad)
    return items


def _write(result: BatchResult, output: str | None) -> None:
    """One line per input, in input order; written whole to a temporary file, then renamed."""
    import json

    text = "".join(json.dumps(_line(item), ensure_ascii=False) + "\n" for item in result)
    if output is None:
        click.echo(text, nl=False)
        return
    from pathlib import Path

    target = Path(output)
    partial = target.with_name(target.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(target)


def _line(item: BatchItem) -> dict[str, Any]:
    from pydantic_core import to_jsonable_python

    usage = {
        "input_tokens": item.usage.input_tokens,
        "output_tokens": item.usage.output_tokens,
        "cache_read_tokens": item.usage.cache_read_tokens,
        "cache_write_tokens": item.usage.cache_write_tokens,
        "requests": item.usage.requests,
        "cost_usd": item.cost_usd,
    }
    error = None if item.error is None else {"type": type(item.error).__name__, "message": str(item.error)}
    output = to_jsonable_python(item.output, by_alias=True, fallback=str)
    return {"id": item.id, "output": output, "usage": usage, "error": error}


class _Progress:
    """The live progress on stderr: a bar on a terminal, a line per change of the batches otherwise."""

    def __init__(self, *, enabled: bool) -> None:
        self.enabled = enabled
        self.tty = sys.stderr.isatty()
        self.job_id = ""
        self._bar: Any = None
        self._last: tuple[int, int, int, int] | None = None
        self._drawn = 0.0

    def start(self, job_id: str) -> None:
        self.job_id = job_id
        if self.enabled:
            click.echo(f"job {job_id} (resume with: agentkit batch --resume {job_id})", err=True)

    def update(self, p: BatchProgress) -> None:
        if not self.enabled:
            return
        if self.tty:
            if self._bar is None:
                self._bar = click.progressbar(
                    length=p.runs,
                    label="runs",
                    file=sys.stderr,
                    show_pos=True,
                    width=24,
                    item_show_func=lambda line: line,
                )
            now, finished = time.monotonic(), p.done + p.failed
            if now - self._drawn >= 0.1 or finished == p.runs:
                self._bar.update(finished - self._bar.pos, status(p))
                self._drawn = now
            return
        key = (p.batches_submitted, p.batches_in_flight, p.failed, p.done == p.runs)
        if key != self._last:
            self._last = key
            click.echo(status(p), err=True)

    def finish(self, result: BatchResult) -> None:
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.render_finish()
        cost = f"${result.cost_usd:.4f}" if result.cost_usd is not None else "cost unknown"
        failed = len(result.failed)
        click.echo(
            f"done: {len(result) - failed} succeeded, {failed} failed, {len(result.batches)} batches, "
            f"{result.usage.total_tokens} tokens, {cost}",
            err=True,
        )


def status(p: BatchProgress) -> str:
    """One line: batches in flight, runs done/failed, tokens, dollars."""
    cost = f"${p.cost_usd:.4f}" if p.cost_usd is not None else "$?"
    return (
        f"batches: {p.batches_in_flight} in flight ({p.requests_in_flight} requests), {p.batches_submitted} sent | "
        f"runs: {p.done}/{p.runs} done, {p.failed} failed | {p.usage.total_tokens} tokens | {cost}"
    )


def _fail(message: str, code: int) -> NoReturn:
    click.echo(message, err=True)
    raise click.exceptions.Exit(code)
