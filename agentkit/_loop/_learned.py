"""What agentkit learns about a model or server at run time, with one owner: `LEARNED`.

Facts are keyed by the client's base URL and the model id, so two servers (the API and a local
emulator) or two models never share them:

- `output_limit`: the model's largest `max_tokens`, read once from the Models API (a fallback
  when the server has no `/v1/models`).
- `refuses_prefill`: the model answered an assistant prefill with a 400. The model table
  (`agentkit._models.refuses_prefill`) knows the families that do from the first request; this
  is only for models it does not know.
- `anchor`: the exact size of the last prompts, by their last message, so a run resumed with
  `history=result.messages` starts calibrated.
- `scale`: tokens per unit of agentkit's local size estimate, from the runs' exact usage. A run
  seeds its estimate from the median of the last few calibrations, so one outlier (a prompt that
  was mostly images, say) cannot skew the runs after it.

Nothing here imports the SDK. `LEARNED.reset()` forgets everything; the test suite calls it
between tests.
"""

from __future__ import annotations

import statistics
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import Any

from .._endpoint import base_url_of

__all__ = ["LEARNED", "Learned", "key_of"]

_SCALES_KEPT = 9
_MIN_SCALE, _MAX_SCALE = 0.2, 5.0  # a calibration outside this is a miscount, not a tokenizer
_ANCHORS_KEPT = 32


def key_of(client: Any, model: str) -> tuple[str, str]:
    """The key facts about `model` on `client`'s server are kept under."""
    return (base_url_of(client), model)


@dataclass
class Learned:
    """The learned facts of this process; see the module docstring."""

    output_limits: dict[tuple[str, str], int] = field(default_factory=dict)
    no_prefill: set[tuple[str, str]] = field(default_factory=set)
    _scales: dict[tuple[str, str], deque[float]] = field(default_factory=dict)
    _anchors: OrderedDict[tuple[tuple[str, str], int], tuple[Any, Any]] = field(default_factory=OrderedDict)

    def scale(self, key: tuple[str, str]) -> float | None:
        """The seed of a new run's token estimate for `key`, or None before any calibration."""
        seen = self._scales.get(key)
        return statistics.median(seen) if seen else None

    def calibrated(self, key: tuple[str, str], scale: float) -> None:
        """Record one exact calibration (tokens per local unit) of a request on `key`."""
        if _MIN_SCALE <= scale <= _MAX_SCALE:
            self._scales.setdefault(key, deque(maxlen=_SCALES_KEPT)).append(scale)

    def remember_anchor(self, key: tuple[str, str], last: Any, anchor: Any) -> None:
        """The exact count of a prompt ending in the message `last`, for a run that goes on from it.

        A run started with `history=result.messages` finds the anchor by that message object (the
        same object, not an equal one), so it needs no fresh calibration. The latest few are kept.
        """
        entry = (key, id(last))
        self._anchors[entry] = (last, anchor)
        self._anchors.move_to_end(entry)
        while len(self._anchors) > _ANCHORS_KEPT:
            self._anchors.popitem(last=False)

    def anchor(self, key: tuple[str, str], message: Any) -> Any:
        """The anchor remembered for a prompt ending in `message`, or None."""
        found = self._anchors.get((key, id(message)))
        return found[1] if found is not None and found[0] is message else None

    def reset(self) -> None:
        """Forget everything learned (tests call this between tests)."""
        self.output_limits.clear()
        self.no_prefill.clear()
        self._scales.clear()
        self._anchors.clear()


LEARNED = Learned()
