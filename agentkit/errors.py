"""Every error agentkit raises, rooted at `AgentkitError`.

```
AgentkitError
├── ConfigurationError        the agent is defined wrongly; raised before any request is sent
│   ├── PromptError           the system prompt does not render (undefined variable, syntax)
│   ├── SpecError             a YAML agent spec is invalid; each problem names file:line:column
│   ├── MissingAPIKey         no API key or other credentials for the client agentkit creates
│   └── ToolDefinitionError   a function cannot become a tool, or two tools share a name
├── RunError                  a run stopped; carries the valid history and usage so far
│   ├── APIError              the API refused the request after the SDK's retries (request id kept)
│   ├── MaxTurnsExceeded      the model was still calling tools after `max_turns`
│   ├── MaxTokensReached      an answer was cut at `max_tokens`
│   ├── Refused               the model declined (stop_reason "refusal"), with its stop details
│   ├── ContextWindowExceeded the conversation no longer fits the model's context window
│   ├── MemoryBudgetExceeded  what must be sent does not fit `memory_budget`; raised before sending
│   ├── OutputValidationError the answer never matched the output type; every attempt kept
│   └── UsageLimitExceeded    the next request would pass a `usage_limits` bound; raised before it
├── InputError                a prompt the API would reject (an image over its size limit); raised before sending
├── SessionBusy               another live run holds the session (its lease names the owner and expiry)
├── SessionStoreError         the session store cannot be read or written; names the path and the fix
└── ToolError                 raise it in a tool to send the model an error message verbatim
```

A `RunError` always carries `.messages` that are valid to send again: every `tool_use` is
answered, so a caller can resume from it with `history=`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from anthropic.types import MessageParam

    from .output import OutputAttempt
    from .usage import Usage


class AgentkitError(Exception):
    """The root of every error agentkit raises."""


class ConfigurationError(AgentkitError):
    """The agent is defined wrongly. Raised before any request is sent."""


class PromptError(ConfigurationError):
    """The system prompt template does not render."""


class SpecError(ConfigurationError):
    """A YAML agent spec is invalid. Each problem is one `file:line:column: field: what, and the fix` line."""

    def __init__(self, problems: str | list[str]) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))


class MissingAPIKey(ConfigurationError):
    """No API key (nor another credential) for the client agentkit creates; the message says how to set one."""


class ToolDefinitionError(ConfigurationError):
    """A function cannot become a tool, or two tools share a name."""


class InputError(AgentkitError):
    """A prompt the API would reject, such as an image over its size limit. Raised before sending."""


class SessionBusy(AgentkitError):
    """Another live run holds the session. Wait for it, use another session id, or unlock a dead run's lock.

    `owner` is the holding run's id and `expires` (a Unix time) when its lease runs out unless renewed.
    """

    def __init__(
        self, message: str, *, session_id: str | None = None, owner: str | None = None, expires: float | None = None
    ) -> None:
        super().__init__(message)
        self.session_id = session_id
        self.owner = owner
        self.expires = expires


class SessionStoreError(AgentkitError):
    """The session store cannot be read or written: the message names the path, what failed and the fix.

    A failed save keeps what it was given: `messages` is the whole history the run asked to save and
    `unsaved` the part of it the store does not hold (save it again once the cause is fixed).
    """

    def __init__(
        self,
        message: str,
        *,
        path: str,
        session_id: str | None = None,
        messages: list[MessageParam] | None = None,
        unsaved: list[MessageParam] | None = None,
    ) -> None:
        super().__init__(message)
        self.path = path
        self.session_id = session_id
        self.messages: list[MessageParam] = messages or []
        self.unsaved: list[MessageParam] = unsaved or []


class ToolError(AgentkitError):
    """Raise in a tool to send `message` to the model as an error result, without a traceback."""


class RunError(AgentkitError):
    """A run stopped before the model finished. `.messages` is a valid history to resume from."""

    def __init__(
        self,
        message: str,
        *,
        messages: list[MessageParam] | None = None,
        usage: Usage | None = None,
    ) -> None:
        super().__init__(message)
        self.messages: list[MessageParam] = messages or []
        self.usage = usage


class APIError(RunError):
    """The Messages API failed after the SDK's retries. The SDK's exception is the `__cause__`."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        request_id: str | None = None,
        error_type: str | None = None,
        messages: list[MessageParam] | None = None,
        usage: Usage | None = None,
    ) -> None:
        super().__init__(message, messages=messages, usage=usage)
        self.status_code = status_code
        self.request_id = request_id
        self.error_type = error_type


class MaxTurnsExceeded(RunError):
    """The model was still calling tools when the run reached `max_turns`."""


class MaxTokensReached(RunError):
    """An answer was cut at `max_tokens` and could not be continued. `partial_output` keeps the text."""

    def __init__(
        self,
        message: str,
        *,
        partial_output: str = "",
        messages: list[MessageParam] | None = None,
        usage: Usage | None = None,
    ) -> None:
        super().__init__(message, messages=messages, usage=usage)
        self.partial_output = partial_output


class Refused(RunError):
    """The model declined to answer (stop_reason `refusal`)."""

    def __init__(
        self,
        message: str,
        *,
        stop_details: Any = None,
        messages: list[MessageParam] | None = None,
        usage: Usage | None = None,
    ) -> None:
        super().__init__(message, messages=messages, usage=usage)
        self.stop_details = stop_details


class ContextWindowExceeded(RunError):
    """The conversation no longer fits the model's context window."""


class MemoryBudgetExceeded(RunError):
    """Even after trimming, what must be sent (system, tools, the newest prompt and tool exchange,
    pinned messages) exceeds `memory_budget`. Raised before the request is sent.

    A `RunError`, not a `ConfigurationError`: it can happen mid-run, when a tool returns more than
    fits, and the caller needs the history and usage so far to resume with a larger budget.
    """

    def __init__(
        self,
        message: str,
        *,
        budget: int,
        required: int,
        messages: list[MessageParam] | None = None,
        usage: Usage | None = None,
    ) -> None:
        super().__init__(message, messages=messages, usage=usage)
        self.budget = budget
        self.required = required


class OutputValidationError(RunError):
    """The model's answers never validated into the output type, after `output_retries` retries.

    `attempts` holds each answer and its errors, in order.
    """

    def __init__(
        self,
        message: str,
        *,
        attempts: list[OutputAttempt],
        messages: list[MessageParam] | None = None,
        usage: Usage | None = None,
    ) -> None:
        super().__init__(message, messages=messages, usage=usage)
        self.attempts = attempts


class UsageLimitExceeded(RunError):
    """The next request would pass a bound of `usage_limits`; the run stopped before sending it."""
