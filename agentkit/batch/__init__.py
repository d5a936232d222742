"""Whole agent runs through the Message Batches API, at half the price of live calls.

```python
from agentkit.batch import run_batch

result = await run_batch(agent, ["Classify: ...", "Classify: ..."])
for item in result:
    print(item.id, item.output if item.ok else item.error)
```

Every input is a full run of the agent's own loop: tools run locally between batches, typed
output, continuation and memory work as in a live run, and each turn of all runs goes into one
batch. The job is saved after every step, so `run_batch(agent, resume=job_id)` (or
`agentkit batch --resume JOB_ID`) goes on after a crash without submitting anything twice.
See docs/batch.md.
"""

from __future__ import annotations

from ._coordinator import Polling
from ._cost import BATCH_DISCOUNT, batch_cost
from ._runner import (
    BatchInput,
    BatchItem,
    BatchProgress,
    BatchResult,
    BatchStream,
    run_batch,
    run_batch_sync,
    stream_batch,
)
from ._store import JobStore

__all__ = [
    "BATCH_DISCOUNT",
    "BatchInput",
    "BatchItem",
    "BatchProgress",
    "BatchResult",
    "BatchStream",
    "JobStore",
    "Polling",
    "batch_cost",
    "run_batch",
    "run_batch_sync",
    "stream_batch",
]
