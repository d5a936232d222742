"""Each test starts with no pacer: what one learned about a server must not leak into the next."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from agentkit import pacing


@pytest.fixture(autouse=True)
def _fresh_pacers() -> Iterator[None]:
    pacing.reset()
    yield
    pacing.reset()
