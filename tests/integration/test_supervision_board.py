"""The live board's data against a real Redis: presence, live calls, the transcript feed."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
import redis.asyncio as aioredis

from state.protocols import TURN, CallInfo
from state.recorder import RecorderSettings, RedisCallRecorder
from state.redis_live import RedisLiveState, call_key, connect_redis
from supervision.board import (
    board_updates,
    live_calls,
    mark_absent,
    mark_present,
    supervisors_present,
    transcript_feed,
)

pytestmark = pytest.mark.integration


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client = connect_redis(redis_url, timeout=2.0)
    yield client
    await client.aclose()


async def open_call(redis: aioredis.Redis, call_id: str) -> RedisCallRecorder:
    recorder = RedisCallRecorder(RedisLiveState(redis),
                                 settings=RecorderSettings(heartbeat_interval=0, flush_timeout=0.2))
    await recorder.open(CallInfo(call_id=call_id, room=f"call-{call_id}", worker_id="w1",
                                 metadata={"test_call": True}))
    return recorder


async def test_presence_expires(redis: aioredis.Redis) -> None:
    await mark_present(redis, "dana")
    await mark_present(redis, "sam", ttl_s=0.05)
    await asyncio.sleep(0.1)
    assert await supervisors_present(redis) == ["dana"]
    await mark_absent(redis, "dana")
    assert await supervisors_present(redis) == []


async def test_live_calls_show_what_the_worker_keeps_on_the_call(redis: aioredis.Redis) -> None:
    recorder = await open_call(redis, "b1")
    try:
        await redis.hset(call_key("b1"), mapping={
            "board": json.dumps({"stage": "ringing", "missing_fields": ["phone"],
                                 "escalation_flags": ["caller_asked_for_person"],
                                 "ringing": {"reason": "human_request"}}),
            "supervisor": "dana", "monitoring": json.dumps(["sam"])})
        later = datetime.now(UTC) + timedelta(seconds=30)
        calls = await live_calls(redis, now=later)
        assert [c.call_id for c in calls] == ["b1"]
        call = calls[0]
        assert call.stage == "ringing" and call.missing_fields == ["phone"]
        assert call.escalation_flags == ["caller_asked_for_person"]
        assert call.ringing == {"reason": "human_request"}
        assert call.supervisor == "dana" and call.monitoring == ["sam"]
        assert call.test_call and 29 < call.duration_s < 40
        updates = board_updates(redis, poll_s=0.01)
        first = await anext(updates)
        assert [c.call_id for c in first] == ["b1"]
        await redis.hset(call_key("b1"), "supervisor", "")
        second = await asyncio.wait_for(anext(updates), 2)
        assert second[0].supervisor is None
        await updates.aclose()
    finally:
        await recorder.finish({})
        await recorder.aclose()
    assert await live_calls(redis) == []


async def test_the_feed_yields_turns_as_they_are_recorded_and_ends_with_the_call(
        redis: aioredis.Redis) -> None:
    recorder = await open_call(redis, "f1")
    seen: list[str] = []

    async def read() -> None:
        async for item in transcript_feed(redis, "f1", block_ms=100):
            if item.event.kind == TURN:
                seen.append(item.event.payload["text"])

    reader = asyncio.create_task(read())
    try:
        await recorder.record(TURN, {"role": "caller", "text": "my water heater leaks"})
        async with asyncio.timeout(2):
            while not seen:  # noqa: ASYNC110 (waits on the reader task)
                await asyncio.sleep(0.01)
        assert seen == ["my water heater leaks"]
        await recorder.record(TURN, {"role": "agent", "text": "Where is the property?"})
    finally:
        await recorder.finish({})
        await recorder.aclose()
    await asyncio.wait_for(reader, 5)
    assert seen == ["my water heater leaks", "Where is the property?"]
