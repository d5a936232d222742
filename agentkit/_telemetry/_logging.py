"""structlog: the library logs, the application configures.

agentkit never configures logging by itself. Its own run events (`run_started`, `model_call`,
`tool_call`, `run_finished`...) are emitted only once the application has configured structlog
(`configure_logging()` or its own `structlog.configure`), since unconfigured structlog prints
everything to stdout. Each event carries `agent`, `run_id`, `turn` and the `trace_id` /
`span_id` of the span it belongs to: the loop never keeps its spans current across the events
it yields, so the ids are bound explicitly rather than read from the OpenTelemetry context.

Inside a tool call the tool's span *is* current and `agent`, `run_id`, `turn`, `tool` are bound
as structlog context variables, so a tool's own `structlog` events carry them too, given the
`merge_contextvars` and `add_trace_context` processors that `configure_logging` installs.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any, TextIO

_HANDLER_NAME = "agentkit.configure_logging"


def enabled() -> bool:
    """Whether the application configured structlog (importing it here would cost ~50 ms)."""
    structlog = sys.modules.get("structlog")
    return structlog is not None and bool(structlog.is_configured())


def span_ids(span: Any) -> dict[str, str]:
    """`trace_id` and `span_id` of a span, as the W3C hex strings backends show; {} when invalid."""
    ctx = span.get_span_context()
    if not ctx.is_valid:
        return {}
    return {"trace_id": format(ctx.trace_id, "032x"), "span_id": format(ctx.span_id, "016x")}


def add_trace_context(logger: Any, method_name: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: add the current span's `trace_id` and `span_id` unless already bound."""
    if "trace_id" not in event_dict:
        from opentelemetry import trace

        event_dict.update(span_ids(trace.get_current_span()))
    return event_dict


def configure_logging(json: bool | None = None, *, level: int | str = "INFO", stream: TextIO | None = None) -> None:
    """One-line logging set-up for applications and the CLI: structlog, and the stdlib through it.

    Pretty, coloured lines on a terminal; one JSON object per line otherwise (`json=None`), or as
    `json` says. Output goes to `stream` (default stderr, so stdout stays the program's). Records of
    stdlib loggers (the anthropic SDK's retries, for instance) are rendered the same way. Calling
    it again replaces the previous set-up.
    """
    import structlog

    out = stream if stream is not None else sys.stderr
    as_json = json if json is not None else not _isatty(out)
    threshold = logging.getLevelName(level.upper()) if isinstance(level, str) else level
    if not isinstance(threshold, int):
        raise ValueError(f"configure_logging(level={level!r}): not a logging level; use e.g. 'INFO' or 'DEBUG'")
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        add_trace_context,
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer() if as_json else structlog.dev.ConsoleRenderer(colors=_isatty(out))
    )
    tail: list[Any] = [structlog.processors.format_exc_info] if as_json else []
    structlog.configure(
        processors=[*shared, structlog.processors.StackInfoRenderer(), *tail, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(threshold),
        logger_factory=structlog.PrintLoggerFactory(out),
        cache_logger_on_first_use=False,  # a later configure_logging() or capture_logs() must apply
    )
    handler = logging.StreamHandler(out)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *tail, renderer],
        )
    )
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(threshold)
    # httpx2 logs every request at INFO; that is debugging detail, not an application's log.
    logging.getLogger("httpx2").setLevel(threshold if threshold <= logging.DEBUG else logging.WARNING)


def _isatty(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())
