"""What agentkit knows about Claude model families, by model-id prefix (most specific first).

Every table is looked up through `family()`, which takes the ids of the Anthropic API
(`claude-opus-4-7`, `claude-opus-4-7-20251001`), Amazon Bedrock (`anthropic.claude-opus-4-7-v1:0`,
with or without a region prefix such as `us.`) and Google Vertex AI (`claude-opus-4-7@20251001`).

Prefill (an assistant message last in the request, which the model continues): the newest
families answer it with `400 This model does not support assistant message prefill`: every model
from the 4.6 generation on (Opus 4.6+, Sonnet 4.6+, the 5 families and later), per the migration
guide of platform.claude.com ("Prefilling assistant messages returns a 400 error on Claude 4.6
models"), checked 2026-12. For a model
this table does not know, agentkit learns it from the 400 (`agentkit._loop._learned`).
Nothing here imports the SDK.
"""

from __future__ import annotations

import re
from functools import lru_cache

__all__ = ["family", "refuses_prefill"]

_BEDROCK = re.compile(r"^(?:[a-z]{2,8}\.)?anthropic\.(?P<id>.+?)(?:-v\d+(?::\d+)?)?$")  # us., eu., apac., global.

# (prefix, refuses prefill) - most specific first; None: unknown, learned from the first 400.
PREFILL: tuple[tuple[str, bool], ...] = (
    ("claude-opus-4-5", False),
    ("claude-opus-4-1", False),
    ("claude-opus-4-0", False),
    ("claude-opus-4-2", False),
    ("claude-opus-4-", True),  # 4.6, 4.7, 4.8 and later point releases
    ("claude-opus-5", True),
    ("claude-sonnet-5", True),
    ("claude-haiku-5", True),
    ("claude-fable", True),
    ("claude-mythos", True),
    ("claude-opus-6", True),
    ("claude-sonnet-6", True),
    ("claude-haiku-6", True),
    ("claude-sonnet-4-5", False),
    ("claude-sonnet-4-0", False),
    ("claude-sonnet-4-2", False),  # claude-sonnet-4-20250514
    ("claude-sonnet-4-", True),  # 4.6 and later: "Prefilling assistant messages returns a 400 error on Sonnet 4.6"
    ("claude-sonnet-4", False),
    ("claude-haiku-4", False),
    ("claude-opus-4", False),
    ("claude-3", False),
)


@lru_cache(maxsize=256)
def family(model: str) -> str:
    """The Anthropic API id of `model`, from a Bedrock or Vertex id if it is one."""
    bedrock = _BEDROCK.match(model)
    if bedrock:
        model = bedrock.group("id")
    return model.split("@", 1)[0]


@lru_cache(maxsize=256)
def refuses_prefill(model: str) -> bool | None:
    """Whether `model` rejects an assistant prefill; None when the table does not know it."""
    name = family(model)
    for prefix, refuses in PREFILL:
        if name.startswith(prefix):
            return refuses
    return None
