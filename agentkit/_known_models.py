"""The model ids agentkit knows, for a "did you mean" when the API says a model does not exist.

Pure and SDK-free: the CLI and the offline playground (`agentkit dev-server`) both use it. The
list is a hint, never a gate: agentkit sends any model id the user gives; only after the API
answers 404 does the CLI look here (and at the Models API's own list, when it answers).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable

__all__ = ["KNOWN_MODELS", "is_known", "suggest"]

# Current ids and their recent predecessors, newest first (checked 2026-12-01).
KNOWN_MODELS: tuple[str, ...] = (
    "claude-opus-5",
    "claude-sonnet-5",
    "claude-fable-5",
    "claude-mythos-5",
    "claude-opus-4-8",
    "claude-opus-4-7",
    "claude-opus-4-6",
    "claude-sonnet-4-6",
    "claude-opus-4-5",
    "claude-sonnet-4-5",
    "claude-haiku-4-5",
    "claude-opus-4-1",
    "claude-opus-4-0",
    "claude-sonnet-4-0",
    "claude-3-7-sonnet-latest",
    "claude-3-5-haiku-latest",
    "claude-3-haiku-20240307",
)
_DATED = re.compile(r"^(?P<base>.+)-\d{8}$")


def is_known(model: str) -> bool:
    """`model` is a known id, or a known id with a date suffix (`claude-haiku-4-5-20251001`)."""
    dated = _DATED.match(model)
    return model in KNOWN_MODELS or (dated is not None and dated.group("base") in KNOWN_MODELS)


def suggest(model: str, listed: Iterable[str] = ()) -> list[str]:
    """Up to three known ids close to `model`, closest first; `listed` adds ids from the Models API.

    Args:
        model: The id the API did not know, e.g. "claude-haiku-4.5".
        listed: Ids the server listed (`client.models.list()`), tried before agentkit's own table.
    """
    candidates = list(dict.fromkeys([*listed, *KNOWN_MODELS]))
    # Separators are the usual slip (4.5 for 4-5, spaces, capitals): compare on a normal form.
    normal = {_normal(c): c for c in reversed(candidates)}
    close = difflib.get_close_matches(_normal(model), list(normal), n=3, cutoff=0.6)
    return [normal[c] for c in close if normal[c] != model]


def _normal(model: str) -> str:
    return re.sub(r"[\s._]+", "-", model.strip().lower())
