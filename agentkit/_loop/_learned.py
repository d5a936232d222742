"""What agentkit learns about a model or server at run time, with one owner: `LEARNED`.

Facts are keyed by the client's base URL and the model id, so two servers (the API and a local
emulator) or two models never share them:

- `output_limit`: the model's largest `max_tokens`, read once from the Models API (a fallback
  when the server has no `/v1/models`).
- `refuses_prefill`: the model answered an assistant prefill with a 400. The model table
  (`agentkit._models.refuses_prefill`) knows the families that do from the first request; this
  is only for models it does not know.
- `echoes_prefill`: whether the server starts its answer to an assistant prefill with the prefill
  (llama-server does; the API never does), learned from the first prefill long enough to tell
  (`agentkit._loop.continuation`).
- `scale`: tokens per unit of agentkit's local size estimate, from the runs' exact usage. A run
  seeds its estimate from the median of the last few calibrations, so one outlier (a prompt that
  was mostly images, say) cannot skew the runs after it.

The exact count a run resumed with `history=result.messages` starts from travels on that list
(`agentkit._history.History`), not here: nothing is kept per run. Nothing here imports the SDK.
`LEARNED.reset()` forgets everything; the test suite calls it between tests.
"""

from __future__ import annotations

import statistics
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from .._endpoint import base_url_of

__all__ = ["LEARNED", "Learned", "key_of"]

_SCALES_KEPT = 9
_MIN_SCALE, _MAX_SCALE = 0.2, 5.0  # a calibration outside this is a miscount, not a tokenizer


def key_of(client: Any, model: str) -> tuple[str, str]:
    """The key facts about `model` on `client`'s server are kept under."""
    return (base_url_of(client), model)


@dataclass
class Learned:
    """The learned facts of this process; see the module docstring."""

    output_limits: dict[tuple[str, str], int] = field(default_factory=dict)
    no_prefill: set[tuple[str, str]] = field(default_factory=set)
    echoes_prefill: dict[tuple[str, str], bool] = field(default_factory=dict)
    _scales: dict[tuple[str, str], deque[float]] = field(default_factory=dict)

    def scale(self, key: tuple[str, str]) -> float | None:
        """The seed of a new run's token estimate for `key`, or None before any calibration."""
        seen = self._scales.get(key)
        return statistics.median(seen) if seen else None

    def calibrated(self, key: tuple[str, str], scale: float) -> None:
        """Record one exact calibration (tokens per local unit) of a request on `key`."""
        if _MIN_SCALE <= scale <= _MAX_SCALE:
            self._scales.setdefault(key, deque(maxlen=_SCALES_KEPT)).append(scale)

    def reset(self) -> None:
        """Forget everything learned (tests call this between tests)."""
        self.output_limits.clear()
        self.no_prefill.clear()
        self.echoes_prefill.clear()
        self._scales.clear()


LEARNED = Learned()
