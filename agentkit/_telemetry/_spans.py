"""The spans of a run: `invoke_agent {agent}`, `chat {model}` per model call, `execute_tool {tool}`.

The run loop is an async generator that yields to user code between stages, and a `stream()`
consumer may abandon it at any yield. An OpenTelemetry context attached before a yield would
leak into the consumer (its own spans would become ours) and detaching it from another context
fails. So spans are started with an explicit parent and are never current across a yield:

- `RunTelemetry` (the run's span) is never current; its context is only the children's parent.
- `ModelCall` is not current either, since a streamed call yields deltas while its span is open;
  `call.activated()` makes it current around the one await that sends the request, so the SDK's
  own span and any HTTP instrumentation nest under it.
- `ToolCallRecorder` is current inside its `with` block (which must hold no `yield`), so spans a
  tool opens itself nest under `execute_tool`.

Every span ends on every path: `with` blocks end them on success, error, cancellation and
`GeneratorExit` (a consumer's `aclose()`); a run span never entered is ended when collected.
"""

from __future__ import annotations

import contextlib
import time
from types import TracebackType
from typing import TYPE_CHECKING, Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from . import _content, _logging, _sdk
from ._otel import instruments, metered, tracer
from ._settings import DEFAULT_SETTINGS, TelemetrySettings

if TYPE_CHECKING:
    from collections.abc import Mapping
    from contextvars import Token

    from opentelemetry.context import Context
    from opentelemetry.trace import Span
    from opentelemetry.util.types import AttributeValue

PROVIDER = "anthropic"
TOOL_ERROR = "tool_error"
_SAMPLED_PARAMS = (  # request fields recorded when set: (attribute, param, type)
    ("gen_ai.request.temperature", "temperature", float),
    ("gen_ai.request.top_p", "top_p", float),
    ("gen_ai.request.top_k", "top_k", float),
)


def error_type(exc: BaseException) -> str:
    """`error.type`: the API's error type when there is one (`overloaded_error`), else the HTTP
    status, else the exception's class name (`MaxTurnsExceeded`). Low cardinality by design."""
    for name in ("error_type", "type"):  # agentkit's APIError, then the SDK's APIStatusError
        value = getattr(exc, name, None)
        if isinstance(value, str) and value:
            return value
    status = getattr(exc, "status_code", None)
    return str(status) if isinstance(status, int) else type(exc).__qualname__


class RunTelemetry:
    """The telemetry of one run: its `invoke_agent` span, and the factory of its children.

    Use it as a `with` block around the loop's body (no context is attached, so yielding inside is
    fine) and call `finish(result)` before yielding the final event: a consumer that stops reading
    after it (as `Agent.run` does) must not leave the span to be ended by garbage collection.
    """

    def __init__(
        self,
        *,
        agent_name: str,
        model: str,
        run_id: str,
        conversation_id: str | None = None,
        client: Any = None,
        settings: TelemetrySettings | None = None,
    ) -> None:
        self.settings = settings = settings or DEFAULT_SETTINGS
        self.agent_name, self.model, self.run_id = agent_name, model, run_id
        self.conversation_id = conversation_id or _sdk.conversation_id(client)
        self.capture = settings.captures_content()
        self.span: Span = trace.INVALID_SPAN
        self.context: Context | None = None
        self._propagates = client is None or _sdk.propagates(client)
        self._server = _sdk.server(client) if client is not None else None
        self._tracer = tracer(settings.tracer_provider)
        self._metrics = instruments(settings.meter_provider)
        self._metered = metered(settings.meter_provider)  # checked once per run: skip what nobody records
        self._started = 0.0
        self._ended = False
        self._log: Any = None
        self._traced = False  # a tracer SDK is there (the run span has a valid context)
        self._logs = False  # the application configured structlog (checked once per run)

    # -- the run span ------------------------------------------------------------------------

    def start(self) -> RunTelemetry:
        """Start the run span under whatever span is current (the application's, if any)."""
        attributes: dict[str, AttributeValue] = {
            "gen_ai.operation.name": "invoke_agent",
            "gen_ai.provider.name": PROVIDER,
            "gen_ai.agent.name": self.agent_name,
            "gen_ai.request.model": self.model,
        }
        if self.conversation_id:
            attributes["gen_ai.conversation.id"] = self.conversation_id
        parent = otel_context.get_current()
        self.span = self._tracer.start_span(
            f"invoke_agent {self.agent_name}", context=parent, kind=SpanKind.INTERNAL, attributes=attributes
        )
        self.context = trace.set_span_in_context(self.span, parent)
        self._started = time.perf_counter()
        self._traced = self.span.get_span_context().is_valid
        self._logs = _logging.enabled()
        self.emit("debug", "run_started", turn=0, model=self.model)
        return self

    def finish(self, result: Any) -> None:
        """The run succeeded: record its totals on the span and end it. `result` is a `RunResult`."""
        if self._ended:
            return
        usage = result.usage
        prompt = usage.input_tokens + usage.cache_read_tokens + usage.cache_write_tokens
        if self.span.is_recording():
            self.span.set_attributes(
                {
                    "gen_ai.response.finish_reasons": [result.stop_reason],
                    "gen_ai.usage.input_tokens": prompt,
                    "gen_ai.usage.output_tokens": usage.output_tokens,
                    "gen_ai.usage.cache_read.input_tokens": usage.cache_read_tokens,
                    "gen_ai.usage.cache_creation.input_tokens": usage.cache_write_tokens,
                }
            )
        duration = self._end(None)
        self.emit(
            "info",
            "run_finished",
            turn=result.turns,
            stop_reason=result.stop_reason,
            input_tokens=prompt,
            output_tokens=usage.output_tokens,
            duration_s=round(duration, 6),
        )

    def fail(self, exc: BaseException | None) -> None:
        """The run stopped without a result: an error, or (not an `Exception`) a cancellation or a
        consumer that closed the stream, which leaves the status unset."""
        if self._ended:
            return
        duration = self._end(exc)
        if isinstance(exc, Exception):
            self.emit("warning", "run_failed", error_type=error_type(exc), duration_s=round(duration, 6))
        else:
            self.emit("debug", "run_stopped", reason=type(exc).__name__ if exc else "ended")

    def __enter__(self) -> RunTelemetry:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.fail(exc)

    def __del__(self) -> None:  # a run generator dropped without being closed or finalised
        if self.span is not trace.INVALID_SPAN and not self._ended:
            self._ended = True
            with contextlib.suppress(Exception):  # at interpreter exit the SDK may be gone
                self.span.end()

    def _end(self, exc: BaseException | None) -> float:
        self._ended = True
        duration = time.perf_counter() - self._started
        error = _failed(self.span, exc, self.capture)
        self.span.end()
        if self._metered and (exc is None or error is not None):
            attributes: dict[str, AttributeValue] = {
                "gen_ai.agent.name": self.agent_name,
                "gen_ai.request.model": self.model,
            }
            if error is not None:
                attributes["error.type"] = error
            self._metrics.agent_duration.record(duration, attributes)
        return duration

    # -- children ----------------------------------------------------------------------------

    def model_call(self, params: Mapping[str, Any], *, turn: int = 0, stream: bool = False) -> ModelCall:
        """A `chat {model}` span for one request (continuations included); use it as a `with` block."""
        return ModelCall(self, params, turn, stream)

    def tool_call(self, call_id: str, name: str, arguments: Any, *, turn: int = 0) -> ToolCallRecorder:
        """An `execute_tool {name}` span, current inside its `with` block (which must hold no yield)."""
        return ToolCallRecorder(self, call_id, name, arguments, turn)

    # -- ids and logging ---------------------------------------------------------------------

    @property
    def trace_id(self) -> str | None:
        """The run's trace id (32 hex digits), to find it in a tracing backend; None when not traced."""
        return _logging.span_ids(self.span).get("trace_id")

    @property
    def log(self) -> Any:
        """A structlog logger bound to this run (agent, run_id, trace and span ids). Emitting
        through it is the caller's choice: it does not check that structlog is configured."""
        if self._log is None:
            import structlog

            self._log = structlog.get_logger("agentkit").bind(
                agent=self.agent_name, run_id=self.run_id, **_logging.span_ids(self.span)
            )
        return self._log

    def emit(self, level: str, event: str, **fields: Any) -> None:
        """Log `event` through the run's logger, once the application has configured structlog."""
        if self._logs:
            getattr(self.log, level)(event, **fields)

    def _child(self, name: str, kind: SpanKind, attributes: Mapping[str, AttributeValue]) -> tuple[Span, Context]:
        span = self._tracer.start_span(name, context=self.context, kind=kind, attributes=attributes)
        return span, trace.set_span_in_context(span, self.context)


class _Activation:
    """Makes a context current for one `with` block, which must not hold a `yield`."""

    __slots__ = ("_context", "_token")

    def __init__(self, context: Context | None) -> None:
        self._context = context  # None: nothing is traced, nothing to make current
        self._token: Token[Context] | None = None

    def __enter__(self) -> None:
        if self._context is not None:
            self._token = otel_context.attach(self._context)

    def __exit__(self, *exc_info: object) -> None:
        if self._token is not None:
            otel_context.detach(self._token)


class _Recorder:
    """What a model-call and a tool-call recorder share: a child span, a duration metric, a log event."""

    __slots__ = ("_run", "_started", "context", "span", "turn")
    _run: RunTelemetry
    _started: float
    turn: int
    context: Context | None  # None when nothing is traced
    span: Span

    def _end(
        self, exc: BaseException | None, error: str | None, histogram: Any, attributes: dict[str, AttributeValue]
    ) -> float | None:
        """End the span and record the duration; None (nothing recorded) for a cancelled call."""
        duration = time.perf_counter() - self._started
        self.span.end()
        if exc is not None and not isinstance(exc, Exception):
            return None  # cancelled or abandoned: no duration to report
        if not self._run._metered:
            return float(duration)
        if error is not None:
            attributes = {**attributes, "error.type": error}
        histogram.record(duration, attributes)
        return float(duration)

    def _log(self, event: str, duration: float, error: str | None, **fields: Any) -> None:
        if self._run._logs:
            self._run.log.debug(
                event,
                turn=self.turn,
                **fields,
                duration_s=round(duration, 6),
                **({"error_type": error} if error else {}),
                **_logging.span_ids(self.span),
            )


class ModelCall(_Recorder):
    """The `chat {model}` span of one request. Not current: see `activated()`."""

    __slots__ = ("_first", "_metric", "_model", "_requested", "_tokens")
    _model: str | None  # the model that answered, once a response is in
    _metric: dict[str, AttributeValue] | None  # the metric attributes, made once

    def __init__(self, run: RunTelemetry, params: Mapping[str, Any], turn: int, stream: bool) -> None:
        self._run, self.turn = run, turn
        self._requested = model = str(params.get("model") or run.model)
        self._model, self._first, self._tokens, self._metric = None, True, (0, 0), None
        self.span, self.context = trace.INVALID_SPAN, None
        if run._traced:  # with no tracer SDK, skip building what nobody records
            self.span, self.context = run._child(
                f"chat {model}", SpanKind.CLIENT, _chat_attributes(run, params, stream)
            )
            if run.capture and self.span.is_recording():
                system = _content.system_instructions(params.get("system"))
                _set_content(self.span, run, "gen_ai.system_instructions", system)
                _set_content(
                    self.span, run, "gen_ai.input.messages", _content.input_messages(params.get("messages") or ())
                )
        self._started = time.perf_counter()

    def activated(self) -> _Activation:
        """Current for one `with` block around the await that sends the request (no yield inside)."""
        return _Activation(self.context)

    def first_chunk(self) -> None:
        """A streamed response's first event arrived: records `gen_ai.response.time_to_first_chunk`."""
        if self._first:
            self._first = False
            self.span.set_attribute("gen_ai.response.time_to_first_chunk", time.perf_counter() - self._started)

    def trace_headers(self) -> dict[str, str]:
        """W3C trace-context headers for the request (as the SDK's span would send), or {}."""
        if not self.span.is_recording() or not self._run._propagates:
            return {}
        from opentelemetry.propagate import inject

        carrier: dict[str, str] = {}
        inject(carrier, context=self.context)
        return carrier

    def response(self, message: Any, *, retries: int | None = None, request_id: str | None = None) -> None:
        """Record the `Message` (id, model, stop reason, usage) and its token metrics.

        `retries` is how many times the SDK resent the request (`raw.retries_taken` of a
        `with_raw_response` call), which only the SDK's own span would otherwise show.
        `request_id` is for a streamed message, which has no `_request_id` of its own
        (`stream.response.headers["request-id"]`).
        """
        usage = getattr(message, "usage", None)
        cache_read = getattr(usage, "cache_read_input_tokens", None) or 0
        cache_write = getattr(usage, "cache_creation_input_tokens", None) or 0
        prompt = (getattr(usage, "input_tokens", None) or 0) + cache_read + cache_write
        output = getattr(usage, "output_tokens", None) or 0
        self._model = getattr(message, "model", None) or self._requested
        self._tokens = (prompt, output)
        span = self.span
        if span.is_recording():
            attributes: dict[str, AttributeValue] = {
                "gen_ai.response.id": str(getattr(message, "id", "")),
                "gen_ai.response.model": self._model,
                "gen_ai.usage.input_tokens": prompt,
                "gen_ai.usage.output_tokens": output,
                "gen_ai.usage.cache_read.input_tokens": cache_read,
                "gen_ai.usage.cache_creation.input_tokens": cache_write,
            }
            if stop := getattr(message, "stop_reason", None):
                attributes["gen_ai.response.finish_reasons"] = [stop]
            if request_id := request_id or getattr(message, "_request_id", None):
                attributes["anthropic.request.id"] = request_id
            if retries:
                attributes["http.request.resend_count"] = retries
            span.set_attributes(attributes)
            if self._run.capture:
                _set_content(span, self._run, "gen_ai.output.messages", _content.output_messages(message))
        if not self._run._metered:
            return
        base = self._metric_attributes()
        histogram = self._run._metrics.token_usage
        histogram.record(prompt, {**base, "gen_ai.token.type": "input"})
        histogram.record(output, {**base, "gen_ai.token.type": "output"})

    def __enter__(self) -> ModelCall:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        run, span = self._run, self.span
        error = _failed(span, exc, run.capture)
        if error is not None and span.is_recording():
            if isinstance(status := getattr(exc, "status_code", None), int):
                span.set_attribute("http.response.status_code", status)
            if isinstance(request_id := getattr(exc, "request_id", None), str):
                span.set_attribute("anthropic.request.id", request_id)
        if exc is not None and error is None:
            exc = BaseException()  # a non-error exit (cancel, close): nothing to record but the span's end
        duration = self._end(exc, error, run._metrics.operation_duration, self._metric_attributes())
        if duration is not None:
            model = self._model or self._requested
            input_tokens, output_tokens = self._tokens
            self._log(
                "model_call", duration, error, model=model, input_tokens=input_tokens, output_tokens=output_tokens
            )

    def _metric_attributes(self) -> dict[str, AttributeValue]:
        """Made once the response is in (or the call failed without one); shared, never mutated."""
        if self._metric is None:
            attributes: dict[str, AttributeValue] = {
                "gen_ai.operation.name": "chat",
                "gen_ai.provider.name": PROVIDER,
                "gen_ai.request.model": self._requested,
            }
            if self._model is not None:
                attributes["gen_ai.response.model"] = self._model
            if self._run._server is not None:
                attributes["server.address"], attributes["server.port"] = self._run._server
            self._metric = attributes
        return self._metric


class ToolCallRecorder(_Recorder):
    """The `execute_tool {name}` span of one tool call; current inside its `with` block."""

    __slots__ = ("_activation", "_bound", "_error", "name")

    def __init__(self, run: RunTelemetry, call_id: str, name: str, arguments: Any, turn: int) -> None:
        self._run, self.name, self.turn = run, name, turn
        self.span, self.context = trace.INVALID_SPAN, None
        if run._traced:
            attributes: dict[str, AttributeValue] = {
                "gen_ai.operation.name": "execute_tool",
                "gen_ai.tool.name": name,
                "gen_ai.tool.call.id": call_id,
                "gen_ai.tool.type": "function",
                "gen_ai.agent.name": run.agent_name,
            }
            self.span, self.context = run._child(f"execute_tool {name}", SpanKind.INTERNAL, attributes)
            if run.capture and self.span.is_recording():
                _set_content(self.span, run, "gen_ai.tool.call.arguments", arguments)
        self._error: str | None = None
        self._bound: Any = None  # structlog context-variable tokens, reset on exit
        self._started = time.perf_counter()

    def result(self, content: Any, is_error: bool, error_type: str | None = None) -> None:
        """Record what goes back to the model. An error result (`is_error`) fails the span with
        `error.type` = `error_type` or `tool_error`; its text becomes the status description only
        when content is captured. A successful result is `gen_ai.tool.call.result` (captured only)."""
        span, run = self.span, self._run
        if is_error:
            self._error = error_type or TOOL_ERROR
            span.set_attribute("error.type", self._error)
            description = _content.fit(_content.tool_output(content), 1024)[0] if run.capture else None
            span.set_status(Status(StatusCode.ERROR, description))
        elif run.capture and span.is_recording():
            _set_content(span, run, "gen_ai.tool.call.result", _content.tool_output(content))

    def __enter__(self) -> ToolCallRecorder:
        self._activation = _Activation(self.context)
        self._activation.__enter__()
        if self._run._logs:
            import structlog

            run = self._run
            self._bound = structlog.contextvars.bind_contextvars(
                agent=run.agent_name, run_id=run.run_id, turn=self.turn, tool=self.name
            )
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        run = self._run
        if self._bound is not None:
            import structlog

            structlog.contextvars.reset_contextvars(**self._bound)
        self._activation.__exit__()
        self._error = _failed(self.span, exc, run.capture) or self._error
        attributes: dict[str, AttributeValue] = {
            "gen_ai.tool.name": self.name,
            "gen_ai.tool.type": "function",
            "gen_ai.agent.name": run.agent_name,
        }
        duration = self._end(exc, self._error, run._metrics.tool_duration, attributes)
        if duration is not None:
            self._log("tool_call", duration, self._error, tool=self.name)


def _chat_attributes(run: RunTelemetry, params: Mapping[str, Any], stream: bool) -> dict[str, AttributeValue]:
    """What a `chat` span starts with (so a sampler sees it): the request's settings that are set."""
    attributes: dict[str, AttributeValue] = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": PROVIDER,
        "gen_ai.request.model": str(params.get("model") or run.model),
    }
    if run._server is not None:
        attributes["server.address"], attributes["server.port"] = run._server
    if run.conversation_id:
        attributes["gen_ai.conversation.id"] = run.conversation_id
    if isinstance(max_tokens := params.get("max_tokens"), int):
        attributes["gen_ai.request.max_tokens"] = max_tokens
    extra = params.get("extra_body")
    extra = extra if isinstance(extra, dict) else {}
    for attribute, name, kind in _SAMPLED_PARAMS:
        value = params.get(name, extra.get(name))
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            attributes[attribute] = kind(value)
    stops = params.get("stop_sequences")
    if isinstance(stops, list) and stops:
        attributes["gen_ai.request.stop_sequences"] = [str(s) for s in stops]
    if stream:
        attributes["gen_ai.request.stream"] = True
    if _json_output(params):
        attributes["gen_ai.output.type"] = "json"
    return attributes


def _failed(span: Span, exc: BaseException | None, capture: bool) -> str | None:
    """For an `Exception`, fail the span (ERROR status, `error.type`) and return its error type;
    None for success and for cancellation, which is not the operation's failure. The message goes
    in the status description only with capture on: an API error's message can quote the request."""
    if not isinstance(exc, Exception):
        return None
    error = error_type(exc)
    if span.is_recording():
        span.set_attribute("error.type", error)
        span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"[:1024] if capture else None))
    return error


def _set_content(span: Span, run: RunTelemetry, key: str, value: Any) -> None:
    if value is None:
        return
    text, truncated = _content.fit(value, run.settings.max_content_bytes)
    span.set_attribute(key, text)
    if truncated:
        span.set_attribute("agentkit.content.truncated", True)


def _json_output(params: Mapping[str, Any]) -> bool:
    config = params.get("output_config")
    output_format = config.get("format") if isinstance(config, dict) else None
    return isinstance(output_format, dict) and output_format.get("type") == "json_schema"
