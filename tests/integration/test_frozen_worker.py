"""One agent per call, even when a job freezes: a lapsed lease is not a dead agent.

A job process stopped for 10 s (SIGSTOP, SIGCONT: what a long GC pause or CPU starvation does)
misses its 3 s heartbeat lease but stays connected to the room. The watcher must not send a
second agent; the job wakes, renews its own lease and finishes the call alone. And should a
replacement ever take a call over, the old job's writes are fenced off by the lease.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from typing import Any

import pytest
from livekit import api

from devstack.local_call import LocalStack
from realtime_simulator import parse_scenario
from simulated_caller import SimulatedCaller
from state.protocols import TURN, CallInfo
from state.recorder import CallSupersededError, RecorderSettings, RedisCallRecorder
from state.redis_live import RedisLiveState, connect_redis
from state.redispatch import claim_orphaned_call

from .test_call_spine import _record
from .test_call_survives_worker import SURVIVES

pytestmark = pytest.mark.integration

FREEZE_S = 10.0


async def agents_in(stack: LocalStack, room: str) -> list[str]:
    async with stack.api() as lk:
        people = await lk.room.list_participants(api.ListParticipantsRequest(room=room))
    return [p.identity for p in people.participants
            if p.kind == api.ParticipantInfo.Kind.AGENT]


async def test_a_frozen_job_keeps_its_call_and_no_second_agent_comes(
        call_stack: LocalStack) -> None:
    call_id = f"frozen{int(time.time())}"
    room = f"call-{call_id}"
    seen_agents: set[str] = set()
    frozen: dict[str, Any] = {}

    async def freeze_after_first_reply(index: int, caller: SimulatedCaller) -> None:
        if index != 1:
            return
        # the agent answered line one (its slot is in); freeze it before line two
        await caller.wait_for_agent_audio_after(time.monotonic() - 30, timeout=30)
        await asyncio.sleep(1.0)
        pid = call_stack.job_pid(call_id)
        os.kill(pid, signal.SIGSTOP)
        frozen["agent"] = caller.agent_identity
        try:
            deadline = time.monotonic() + FREEZE_S
            while time.monotonic() < deadline:  # every agent seen in the room while frozen
                seen_agents.update(await agents_in(call_stack, room))
                await asyncio.sleep(0.5)
        finally:
            os.kill(pid, signal.SIGCONT)

    result = await call_stack.place_call(parse_scenario(SURVIVES), call_id=call_id,
                                         before_line=freeze_after_first_reply)
    assert frozen, "the job was never frozen"
    # nobody else was sent in while the job was frozen, and it answered line two itself
    assert seen_agents == {frozen["agent"]}
    assert result.report.turns[1].agent_reply_started_at is not None
    assert result.report.errors == []
    record = await _record(call_stack, result.call_id)
    statuses = [e["payload"].get("status") for e in record["events"]  # type: ignore[index, union-attr]
                if e["kind"] == "status"]
    assert "resumed" not in statuses
    agent_lines = [t["text"] for t in record["turns"] if t["role"] == "agent"]  # type: ignore[index, union-attr]
    # one reply per caller line, none twice (the last may be cut short by the hang-up)
    last_line = "Thanks. By what date do you need this fixed?"
    assert sum(bool(text) and last_line.startswith(text) for text in agent_lines) == 1
    assert not any("lost you for a second" in text for text in agent_lines)
    fields = record["outcome"]["fields"]  # type: ignore[index]
    assert fields["problem"] and fields["location"]


async def test_a_replaced_job_can_write_nothing_more(redis_url: str) -> None:
    client = connect_redis(redis_url)
    live = RedisLiveState(client)
    try:
        settings = RecorderSettings(heartbeat_interval=0, heartbeat_ttl_ms=200, flush_timeout=0)
        old = RedisCallRecorder(live, settings=settings)
        told: list[bool] = []
        old.on_superseded = lambda: told.append(True)
        call = CallInfo(call_id=f"fence{time.time_ns()}", room="call-fence", worker_id="old")
        await old.open(call)
        await old.record(TURN, {"role": "agent", "text": "What is your deadline?"})
        await old.save_slot("name", {"value": "Ada", "confirmed": True})
        before = await live.seq(call.call_id)
        # the old job froze past its lease; a watcher claimed the call for a replacement
        await asyncio.sleep(0.3)
        assert await claim_orphaned_call(live, call.call_id, "new", lease_ms=5_000)
        with pytest.raises(CallSupersededError):
            await old.record(TURN, {"role": "agent", "text": "Sorry, could you say that again?"})
        assert told == [True] and old.superseded
        with pytest.raises(CallSupersededError):
            await old.save_slot("name", {"value": "Bob", "confirmed": False})
        await old.heartbeat()  # a late heartbeat does not take the lease back
        await old.finish({"fields": {}})  # stores nothing: the replacement owns the outcome
        await old.aclose()
        assert await live.seq(call.call_id) == before
        assert (await live.load_slots(call.call_id))["name"]["value"] == "Ada"
        fields = await live.get_call(call.call_id)
        assert fields["worker"] == "new" and fields["status"] != "ended"
        assert told == [True]
    finally:
        await client.aclose()
