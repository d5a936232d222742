"""The loopback server's Message Batches API, through the real SDK: shape, validation, faults, cancel."""

from __future__ import annotations

import math
from typing import Any

import anthropic
import anyio
import pytest

from agentkit.testing import Fault, MessagesServer, Reply

pytestmark = pytest.mark.anyio

MODEL = "claude-haiku-4-5"


def params(text: str = "hi", **extra: Any) -> dict[str, Any]:
    return {"model": MODEL, "max_tokens": 10, "messages": [{"role": "user", "content": text}], **extra}


async def _ended(client: anthropic.AsyncAnthropic, batch_id: str) -> Any:
    batch = await client.messages.batches.retrieve(batch_id)
    while batch.processing_status != "ended":
        await anyio.sleep(0.005)
        batch = await client.messages.batches.retrieve(batch_id)
    return batch


@pytest.mark.agentkit_allow_rejected
async def test_each_request_is_validated_and_answered_from_the_script(messages_server: MessagesServer) -> None:
    messages_server.script(Reply.text("one"), Fault.overloaded(), Fault.rate_limit(), Fault.expired(), Fault.canceled())
    client = messages_server.client()
    requests = [{"custom_id": f"r{i}", "params": params()} for i in range(5)]
    requests.append({"custom_id": "bad", "params": params(stream=True)})

    created = await client.messages.batches.create(requests=requests)
    batch = await _ended(client, created.id)
    results = {line.custom_id: line.result async for line in await client.messages.batches.results(batch.id)}

    assert created.processing_status == "in_progress"
    assert created.request_counts.processing == 6
    assert batch.request_counts.model_dump() == {
        "canceled": 1, "errored": 3, "expired": 1, "processing": 0, "succeeded": 1
    }  # fmt: skip
    assert results["r0"].type == "succeeded"
    assert results["r0"].message.content[0].to_dict()["text"] == "one"
    assert results["r0"].message.usage.service_tier == "batch"
    assert [results[c].error.error.type for c in ("r1", "r2", "bad")] == [  # type: ignore[union-attr]
        "overloaded_error", "rate_limit_error", "invalid_request_error"
    ]  # fmt: skip
    assert (results["r3"].type, results["r4"].type) == ("expired", "canceled")
    assert messages_server.rejected[0][1].startswith("stream:")
    assert messages_server.batches.submitted == ["r0", "r1", "r2", "r3", "r4", "bad"]


async def test_a_bad_batch_is_refused_whole(messages_server: MessagesServer) -> None:
    client = messages_server.client(max_retries=0)
    with pytest.raises(anthropic.BadRequestError, match="custom_id: String should match pattern"):
        await client.messages.batches.create(requests=[{"custom_id": "no spaces", "params": params()}])
    with pytest.raises(anthropic.BadRequestError, match="is not unique"):
        await client.messages.batches.create(
            requests=[{"custom_id": "a", "params": params()}, {"custom_id": "a", "params": params()}]
        )
    with pytest.raises(anthropic.BadRequestError, match="requests"):
        await client.messages.batches.create(requests=[])
    assert messages_server.batches.submissions == []


async def test_cancel_list_and_delete(messages_server: MessagesServer) -> None:
    messages_server.batches.processing_delay = math.inf
    client = messages_server.client(max_retries=0)
    first = await client.messages.batches.create(requests=[{"custom_id": "a", "params": params()}])
    second = await client.messages.batches.create(requests=[{"custom_id": "b", "params": params()}])

    canceling = await client.messages.batches.cancel(first.id)
    canceled = await _ended(client, first.id)
    page = await client.messages.batches.list(limit=1)

    assert canceling.processing_status == "canceling"
    assert canceled.request_counts.canceled == 1
    assert [b.id for b in page.data] == [second.id]  # newest first
    assert page.has_more
    with pytest.raises(anthropic.BadRequestError, match="still processing"):
        await client.messages.batches.delete(second.id)
    assert (await client.messages.batches.delete(first.id)).type == "message_batch_deleted"
    with pytest.raises(anthropic.NotFoundError):
        await client.messages.batches.retrieve(first.id)


async def test_batch_only_faults_answer_a_live_request_with_a_500(messages_server: MessagesServer) -> None:
    messages_server.script(Fault.expired())
    client = messages_server.client(max_retries=0)
    with pytest.raises(anthropic.InternalServerError):
        await client.messages.create(**params())
