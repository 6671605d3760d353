"""The Realtime backend failing mid-call: a dropped socket is reconnected; a dead backend gets
the caller an apology and a clean hang-up, never silence."""

from __future__ import annotations

import asyncio
import time

import pytest

from devstack.local_call import LocalStack
from realtime_simulator import parse_scenario

from .test_call_spine import _record

pytestmark = pytest.mark.integration

ONE_TURN = """
name: one-turn
turns:
  - caller: "Hi, my water heater is leaking in the basement."
    agent:
      - say: "I'm sorry to hear that. What's the address of the property?"
  - hangup: true
    pause_before_ms: 300
"""

SILENT_CALLER = """
name: silent-caller
turns:
  - hangup: true
    pause_before_ms: 4000
"""


async def test_a_dropped_realtime_socket_is_reconnected(call_stack: LocalStack) -> None:
    sim = call_stack.simulator
    assert sim is not None
    before = sim.connections
    dropped: list[int] = []

    async def drop() -> None:
        dropped.append(await sim.drop_connections())

    result = await call_stack.place_call(parse_scenario(ONE_TURN), after_greeting=drop)
    assert dropped == [1]
    assert sim.connections >= before + 2  # the first connection and the reconnection
    turn = result.report.turns[0]
    assert turn.agent_reply_started_at is not None  # the caller was answered after the drop
    assert not result.report.errors


async def test_a_dead_realtime_backend_gets_an_apology_not_silence(
        call_stack: LocalStack) -> None:
    sim = call_stack.simulator
    assert sim is not None
    greeting_end: list[float] = []

    async def kill_backend() -> None:
        await sim.stop()
        greeting_end.append(time.monotonic())

    try:
        result = await call_stack.place_call(parse_scenario(SILENT_CALLER),
                                             after_greeting=kill_backend)
    finally:
        await sim.restart()
    # the caller heard the agent again after the backend died: the pre-rendered apology
    assert any(seg.started_at > greeting_end[0] for seg in result.report.segments)
    record = await _record(call_stack, result.call_id)
    statuses = [e["payload"].get("status") for e in record["events"]  # type: ignore[union-attr]
                if e["kind"] == "status"]  # type: ignore[index]
    assert "apology" in statuses and "hung_up" in statuses
    await asyncio.sleep(0)


# what a broken or hostile backend might send: none of it may take the call down
MALFORMED_EVENTS = [
    "{not json",
    "[]",
    '"a string"',
    '{"no_type": true}',
    '{"type": "totally.unknown.event", "event_id": "x"}',
    '{"type": null}',
    # deltas for a response and item the client never saw, out of order
    '{"type": "response.output_audio.delta", "event_id": "e1", "response_id": "resp_gone",'
    ' "item_id": "item_gone", "output_index": 0, "content_index": 0, "delta": "!!!"}',
    '{"type": "response.output_audio_transcript.delta", "event_id": "e2",'
    ' "response_id": "resp_gone", "item_id": "item_gone", "output_index": 0,'
    ' "content_index": 0, "delta": "ghost"}',
    '{"type": "response.done", "event_id": "e3", "response": {"id": "resp_never"}}',
    '{"type": "conversation.item.added", "event_id": "e4"}',
    '{"type": "error"}',
    '{"type": "session.updated", "session": "not an object"}',
]


async def test_malformed_realtime_events_never_crash_the_call(call_stack: LocalStack) -> None:
    sim = call_stack.simulator
    assert sim is not None
    sent: list[int] = []

    async def garbage() -> None:
        sent.append(await sim.send_raw(MALFORMED_EVENTS))

    result = await call_stack.place_call(parse_scenario(ONE_TURN), after_greeting=garbage)
    assert sent and sent[0] >= 1
    # the caller was still answered, with the scripted reply
    assert result.report.turns[0].agent_reply_started_at is not None
    assert not result.report.errors
    record = await _record(call_stack, result.call_id)
    caller_lines = [t["text"] for t in record["turns"] if t["role"] == "caller"]  # type: ignore[index, union-attr]
    agent_lines = [t["text"] for t in record["turns"] if t["role"] == "agent"]  # type: ignore[index, union-attr]
    assert any("water heater" in text for text in caller_lines)
    # (the caller hangs up at the first pause in the reply: its heard prefix is stored)
    assert any("sorry to hear that" in text for text in agent_lines), record["turns"]
    statuses = [e["payload"].get("status") for e in record["events"]  # type: ignore[index, union-attr]
                if e["kind"] == "status"]
    assert "apology" not in statuses
