"""The parts behind `agentkit.telemetry`, one concern a module.

    _settings   TelemetrySettings: providers, content capture (and its environment variable)
    _content    Messages API params and responses as the conventions' message parts, size-bounded
    _otel       the tracer and the metric instruments, made once per provider
    _sdk        living with the anthropic SDK's own tracing: one span per model call
    _spans      RunTelemetry, ModelCall, ToolCallRecorder: the spans the run loop opens
    _logging    structlog: per-run bound loggers, a trace-context processor, configure_logging

Nothing here imports `opentelemetry` or `structlog` when `agentkit.telemetry` is imported: the
public module loads these on first use, so `import agentkit` and the CLI's `--help` stay fast.
"""
