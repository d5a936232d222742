"""What the Messages API refuses with a 400, checked on an agent's settings before any request.

Pure functions over plain values (no SDK, no `Agent`, no YAML), each returning `(location,
message)` pairs: `AgentSettings` raises the first as a `ConfigurationError`, the spec loader points
each at its file and line.

Relied on (the API's own 400s, as quoted in public issue reports, and the offline validator of
`agentkit.testing`, which models them):

- `stop_sequences`: "each stop sequence must be non-empty" and "each stop sequence must contain
  non-whitespace" (BerriAI/litellm#3286, MegaGrindStone/mcp-web-ui#5);
- `thinking` `{type: enabled}`: `budget_tokens` is required, at least 1,024, and below
  `max_tokens` ("`max_tokens` must be greater than `thinking.budget_tokens`"); with thinking on
  (`enabled` or `adaptive`), `temperature` may only be 1 and `top_p` is refused;
- `max_tokens`: at most the model's output limit; `MAX_OUTPUT_TOKENS` is the largest of any
  current model (128k), used when the model's own limit is not known offline (the Models API
  gives it at run time).
"""

from __future__ import annotations

import difflib
from typing import Any, TypeAlias

Loc: TypeAlias = tuple[str | int, ...]

MAX_OUTPUT_TOKENS = 128_000
"""The largest output limit of any Claude model: no `max_tokens` above it can be accepted."""
MIN_THINKING_BUDGET = 1024
DEFAULT_MAX_TOKENS = 4096  # `Agent.max_tokens` when a spec does not set it
THINKING_TYPES = ("adaptive", "enabled", "disabled")

OWN_SETTINGS = {
    "model": "the `model` setting",
    "system": "the `system` (or `system_file`) setting",
    "tools": "the `tools` setting",
    "messages": "the run's prompt and history (`history=`, a session, or `agentkit run SPEC PROMPT`)",
    "stream": "`agent.stream(...)` (or `agentkit run --stream`): agentkit chooses how each request is sent",
}
"""Request fields agentkit sets from a setting of its own (or the run's input); `request_params` may
not override them. The same set as `AgentSettings`' check, with the spec's line and field names."""


def api_problems(settings: dict[str, Any]) -> list[tuple[Loc, str]]:
    """The settings the API would refuse, with where (a location tuple) and the fix.

    Args:
        settings: A validated spec's fields (`AgentSpec.model_dump()`).
    """
    problems: list[tuple[Loc, str]] = []
    max_tokens = settings.get("max_tokens")
    if isinstance(max_tokens, int) and max_tokens > MAX_OUTPUT_TOKENS:
        problems.append(
            (
                ("max_tokens",),
                f"{max_tokens:,} is more than any model can write; the largest output limit is "
                f"{MAX_OUTPUT_TOKENS:,} tokens (the model's own may be lower)",
            )
        )
    for index, stop in enumerate(settings.get("stop_sequences") or []):
        if not stop.strip():
            what = "empty" if not stop else f"whitespace only ({stop!r})"
            problems.append((("stop_sequences", index), f"is {what}; the API needs each stop sequence to contain text"))
    params = settings.get("request_params") or {}
    sent_max = params.get("max_tokens", max_tokens)  # request_params are sent last, so theirs is what counts
    problems += _thinking(settings, sent_max if isinstance(sent_max, int) else DEFAULT_MAX_TOKENS)
    for key in settings.get("request_params") or {}:
        if key in OWN_SETTINGS:
            problems.append(
                (
                    ("request_params", key),
                    f"would silently replace what agentkit sends for {key}; use {OWN_SETTINGS[key]} instead",
                )
            )
    return problems


def _thinking(settings: dict[str, Any], max_tokens: int) -> list[tuple[Loc, str]]:
    params = settings.get("request_params") or {}
    where: Loc = ("request_params", "thinking") if "thinking" in params else ("thinking",)
    thinking = params.get("thinking", settings.get("thinking"))
    if thinking is None:
        return []
    if not isinstance(thinking, dict):
        return [(where, f"give a mapping such as {{type: adaptive}} (got {thinking!r})")]
    kind = thinking.get("type")
    if kind not in THINKING_TYPES:
        close = difflib.get_close_matches(str(kind), THINKING_TYPES, n=1) if isinstance(kind, str) else []
        hint = f"; did you mean '{close[0]}'?" if close else ""
        return [((*where, "type"), f"give one of {', '.join(THINKING_TYPES)} (got {kind!r}){hint}")]
    problems: list[tuple[Loc, str]] = []
    if kind == "enabled":
        budget = thinking.get("budget_tokens")
        if not isinstance(budget, int) or isinstance(budget, bool):
            problems.append(
                ((*where, "budget_tokens"), f"`type: enabled` needs an integer budget_tokens (got {budget!r})")
            )
        elif budget < MIN_THINKING_BUDGET:
            problems.append(
                ((*where, "budget_tokens"), f"{budget} is below the API's minimum of {MIN_THINKING_BUDGET:,}")
            )
        elif budget >= max_tokens:
            problems.append(
                (
                    (*where, "budget_tokens"),
                    f"{budget:,} must be below max_tokens ({max_tokens:,}): thinking is part of the output; "
                    "raise max_tokens or lower the budget",
                )
            )
    if kind in ("enabled", "adaptive"):
        temperature = settings.get("temperature")
        if temperature is not None and temperature != 1:
            problems.append((("temperature",), "with thinking on, the API takes only temperature 1; remove it"))
        if settings.get("top_p") is not None:
            problems.append((("top_p",), "the API refuses top_p with thinking on; remove it"))
    return problems
