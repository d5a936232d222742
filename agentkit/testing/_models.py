"""What the loopback server knows about models: canonical ids and which families refuse prefill.

Every model table of the server (the prefill table here, the minimum cacheable lengths of
`agentkit._caching`) is keyed by first-party id prefixes such as `claude-opus-4-7`. Requests may
name a model the way Amazon Bedrock or Google Vertex AI do; `canonical_model` maps those ids to
the first-party form before any table is consulted:

- Bedrock: `anthropic.claude-opus-4-7-v1:0`, with an optional cross-region inference prefix
  (`us.`, `eu.`, `apac.`, `global.`, ...) and a `-v<n>[:<m>]` version suffix;
- Vertex AI: `claude-opus-4-7@20251001` (`@` and a version date).

Relied on for prefill (checked 2026-11): the API answers a final assistant message on the newest
models with `400 "This model does not support assistant message prefill. The conversation must
end with a user message."` Public reports name Opus 4.6 (a measured model table in a public
repository: Opus 4, 4.1, 4.5 and Sonnet 4, 4.5 accept, Opus 4.6 refuses), Sonnet 4.6
(snap-stanford/Biomni#284) and Sonnet 5 (measured, quoted in a public repository), and the design
notes of this project list the Opus 4.6+ family, Opus 5, Sonnet 5 and Haiku 5. Families of
generation 5 and later that this table does not name are taken to refuse as well ("and newer").
"""

from __future__ import annotations

import re

__all__ = ["PREFILL_REFUSED", "canonical_model", "refuses_prefill"]

# Model-id prefixes (first-party form) whose models refuse an assistant prefill, most specific first.
PREFILL_REFUSED: tuple[str, ...] = (
    "claude-opus-4-6",
    "claude-opus-4-7",
    "claude-opus-4-8",
    "claude-sonnet-4-6",
    "claude-opus-5",
    "claude-sonnet-5",
    "claude-haiku-5",
    "claude-fable-5",
    "claude-mythos-5",
)
_BEDROCK = re.compile(r"^(?:[a-z]{2,6}\.)?anthropic\.(?P<id>claude-.+?)(?:-v\d+(?::\d+)?)?$")
_FAMILY = re.compile(r"^claude-[a-z]+-(?P<major>\d+)(?:-|$)")


def canonical_model(model: str) -> str:
    """`model` in first-party form: Bedrock and Vertex AI ids mapped to `claude-...` ids.

    Args:
        model: A model id as a request names it, e.g. `anthropic.claude-opus-4-7-v1:0`,
            `us.anthropic.claude-opus-4-7-v1:0`, `claude-opus-4-7@20251001` or `claude-opus-4-7`.
    """
    model = model.strip()
    match = _BEDROCK.match(model)
    if match:
        model = match["id"]
    return model.split("@", 1)[0]


def refuses_prefill(model: str) -> bool:
    """Whether `model` refuses a final assistant message (by the table above, any id form).

    Args:
        model: A model id in any of the forms `canonical_model` takes.
    """
    canonical = canonical_model(model)
    if canonical.startswith(PREFILL_REFUSED):
        return True
    family = _FAMILY.match(canonical)  # a newer family (generation 5+) not in the table yet
    return family is not None and int(family["major"]) >= 5
