"""The spine on the real stack: livekit-server, a worker process, the Realtime plugin talking to
the simulator, Redis and Postgres. The simulated caller is a real participant in the room."""

from __future__ import annotations

import asyncio
import json
import os
import time

import pytest
from livekit import api

from audio.speech import render_speech_pcm16
from devstack.local_call import LocalStack
from realtime_simulator import parse_scenario
from state.postgres_record import PostgresRecordStore, create_pool
from state.review import show_call

pytestmark = pytest.mark.integration

TOOL_TURN = """
name: tool-turn
caller: {number: "+15125550142"}
turns:
  - caller: "Hi, my water heater is leaking in the basement."
    agent:
      - tool: record_field
        arguments: {field: problem, value: "water heater leaking in the basement"}
        expect_output_contains: "problem"
      - say: "I'm sorry to hear that. What's the address of the property?"
  - hangup: true
    pause_before_ms: 300
"""

LONG_REPLY = ("Thank you. Round Rock is in our service area, and we can usually send a technician "
              "within a day or two. Before I book anything I need a few more details from you, "
              "starting with the date you need this done by, and then your budget.")
BARGE_IN = f"""
name: barge-in
turns:
  - caller: "It's forty two Elm Street in Round Rock."
    agent:
      - say: "{LONG_REPLY}"
  - caller: "Sorry, can I stop you there?"
    barge_in_after_ms: 1500
    agent:
      - say: "Of course. Go ahead."
  - hangup: true
    pause_before_ms: 300
"""


async def _record(stack: LocalStack, call_id: str, timeout: float = 20.0) -> dict[str, object]:
    assert stack.database_url is not None
    pool = await create_pool(stack.database_url, max_size=2)
    try:
        store = PostgresRecordStore(pool)
        deadline = time.monotonic() + timeout
        while True:
            record = await show_call(store, call_id)
            if record is not None and record.get("outcome"):
                return record
            if time.monotonic() > deadline:
                raise AssertionError(f"no stored outcome for call {call_id}: {record}")
            await asyncio.sleep(0.25)
    finally:
        await pool.close()


async def test_greets_then_completes_a_turn_with_a_tool_call(call_stack: LocalStack) -> None:
    result = await call_stack.place_call(parse_scenario(TOOL_TURN))
    report = result.report
    sim = call_stack.simulator
    assert sim is not None

    # the greeting was heard before the caller said anything
    assert report.first_agent_audio_at is not None
    assert report.turns and report.first_agent_audio_at < report.turns[0].speech_started_at
    # the model's function call reached our tool and its output went back over the wire
    outputs = [c for c in sim.tool_calls_received if c.name == "record_field"]
    assert outputs and outputs[-1].expectation_met is True
    sent = [w.event for w in sim.wire_log if w.direction == "client"
            and w.event.get("type") == "conversation.item.create"
            and w.event.get("item", {}).get("type") == "function_call_output"]
    assert any(e["item"]["call_id"] == outputs[-1].call_id for e in sent)
    # after the tool, the reply was spoken to the caller
    assert report.turns[0].agent_reply_started_at is not None

    record = await _record(call_stack, result.call_id)
    roles = [turn["role"] for turn in record["turns"]]  # type: ignore[index]
    assert "caller" in roles and "agent" in roles
    texts = json.dumps(record["turns"])
    assert "water heater" in texts and "Brightline" in texts  # caller turn and greeting
    outcome = record["outcome"]
    assert outcome["fields"]["problem"]  # type: ignore[index]


async def test_caller_talking_over_the_agent_stops_its_audio(call_stack: LocalStack) -> None:
    result = await call_stack.place_call(parse_scenario(BARGE_IN))
    turn = next(t for t in result.report.turns if t.barged_in)
    assert turn.agent_stopped_at is not None
    reply_seconds = len(render_speech_pcm16(LONG_REPLY, 24000, cache=True)) / 2 / 24000
    reply = next(s for s in result.report.segments
                 if s.started_at >= result.report.turns[0].speech_ended_at)
    # the caller heard only part of the reply: its audio ended, and before all of it played
    # (how fast it stopped is the latency benchmark's barge-in figure, not a test threshold)
    assert reply.ended_at is not None
    assert reply.ended_at - reply.started_at < reply_seconds
    assert turn.agent_stopped_at >= turn.speech_started_at
    sim = call_stack.simulator
    assert sim is not None
    client_events = [w.event.get("type") for w in sim.wire_log if w.direction == "client"]
    assert "conversation.item.truncate" in client_events


async def test_hang_up_closes_the_job_and_the_room(call_stack: LocalStack) -> None:
    result = await call_stack.place_call(parse_scenario(TOOL_TURN))
    worker_log = call_stack.workers[0].log_path
    deadline = time.monotonic() + 20
    async with call_stack.api() as lkapi:
        while True:
            rooms = await lkapi.room.list_rooms(api.ListRoomsRequest(names=[result.room]))
            log = worker_log.read_text()
            finished = any(result.call_id in line and "call finished" in line
                           for line in log.splitlines())
            if not rooms.rooms and finished:
                break
            if time.monotonic() > deadline:
                raise AssertionError(f"room or job still open: rooms={len(rooms.rooms)} "
                                     f"finished={finished}")
            await asyncio.sleep(0.25)
    assert not any(result.call_id in line and "call tasks leaked" in line
                   for line in log.splitlines())


SILENT_CALLER = """
name: silent-caller
greeting:
  # the first reply the worker asks for: the playbook's idle prompt
  - say: "Are you still there?"
# the next: the playbook's goodbye
fallback_reply: "Thanks for calling. Goodbye."
turns:
  - silent: true
"""


async def test_a_silent_caller_is_prompted_then_hung_up_on(call_stack: LocalStack) -> None:
    result = await call_stack.place_call(parse_scenario(SILENT_CALLER))
    report = result.report
    record = await _record(call_stack, result.call_id)
    assert report.errors == [], report.errors
    assert report.disconnected_at is not None  # the agent hung up, the caller did not
    statuses = [e["payload"].get("status") for e in record["events"]  # type: ignore[index, union-attr]
                if e["kind"] == "status"]
    assert statuses.index("idle_prompt") < statuses.index("idle_hangup"), statuses
    agent_lines = [t["text"] for t in record["turns"] if t["role"] == "agent"]  # type: ignore[index, union-attr]
    assert "Are you still there?" in agent_lines, agent_lines
    assert not [t for t in record["turns"] if t["role"] == "caller"]  # type: ignore[index, union-attr]
    assert record["outcome"]["missing_fields"]  # type: ignore[index]


async def test_stopping_the_stack_leaves_no_process_behind() -> None:
    stack = LocalStack(scenario=parse_scenario(TOOL_TURN), idle_processes=1)
    await stack.start()
    groups = [w.pid for w in stack.workers]
    await stack.stop()
    for pgid in groups:
        with pytest.raises(ProcessLookupError):
            os.killpg(pgid, 0)
