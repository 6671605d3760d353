"""A real SIP call end to end through our worker.

sipp -> livekit-sip -> livekit-server -> our worker process (dispatched by the dispatch rule our
provisioning code created) -> the Realtime plugin talking to the simulator; Redis and Postgres
hold the record. Nothing stands in for the agent: the call is answered because the worker
publishes its track, and what comes back over RTP is the worker's voice.

How the test hears the agent: sipp 3.6 cannot record the RTP it receives, so the caller's SDP
offer names the port of an `RtpSink` (a UDP socket in this process) instead of sipp's own media
port. livekit-sip sends to the address in the offer (symmetric RTP is off on loopback), so the
agent's G.711 audio lands in the sink, which decodes it and counts the packets that are speech.
sipp still streams the caller's speech from its own socket.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest
from livekit import api

from agent.job_metadata import call_id_for, parse_job_metadata
from realtime_simulator import RealtimeSimulator
from realtime_simulator.records import ToolCallRecord
from testbed.sipp import SippCall
from testbed.sipp.rtp_sink import RtpSink

from .sip_stack import (
    SIP_AGENT_CALLED,
    SipAgentStack,
    agent_joined,
    new_caller_number,
    stored_call,
)

pytestmark = pytest.mark.integration

# How long a test waits for something to show up; an upper bound on waiting, not a measurement.
WAIT_S = 60.0
# The call's length from sipp's side: the caller's line, the agent's tool call and reply fit in
# it with room to spare. sipp hangs up (BYE) when it is over.
HOLD_MS = 20_000


async def _call_room(lk: api.LiveKitAPI, caller: str,
                     call: SippCall) -> tuple[str, api.ParticipantInfo]:
    """The room and SIP participant of the call from `caller` (polls the server API)."""
    async with asyncio.timeout(WAIT_S):
        while True:
            rooms = await lk.room.list_rooms(api.ListRoomsRequest())
            for room in rooms.rooms:
                people = await lk.room.list_participants(
                    api.ListParticipantsRequest(room=room.name))
                for person in people.participants:
                    if person.attributes.get("sip.phoneNumber") == caller:
                        return room.name, person
            assert call.running(), call.messages()[-3000:]
            await asyncio.sleep(0.2)


def _timeline(sink: RtpSink, sim: RealtimeSimulator, started: float) -> str:
    """Seconds since sipp started: voiced RTP bursts and the simulator's events (for failures)."""
    bursts: list[list[float]] = []
    for at in sink.stats.voiced_at:
        if bursts and at - bursts[-1][1] < 0.1:
            bursts[-1][1] = at
        else:
            bursts.append([at, at])
    lines = [f"rtp packets={sink.stats.packets} voiced={sink.stats.voiced_packets}"]
    lines += [f"{a - started:7.2f}-{b - started:.2f} voiced rtp" for a, b in bursts]
    lines += [f"{w.at - started:7.2f} {w.direction} {w.event.get('type')}" for w in sim.wire_log
              if "audio" not in str(w.event.get("type")) or "speech" in str(w.event.get("type"))]
    return "\n".join(sorted(lines[1:], key=lambda line: float(line.split()[0].split("-")[0]))
                     + lines[:1])


def _finished(log_path: Path, call_id: str) -> bool:
    lines = log_path.read_text(errors="replace").splitlines()
    return any("call finished" in line and call_id in line for line in lines)


async def test_sip_call_is_answered_by_our_agent_and_recorded(
        sip_agent_stack: SipAgentStack) -> None:
    ctx = sip_agent_stack
    stack, sim = ctx.stack, ctx.stack.simulator
    assert sim is not None and stack.database_url is not None
    sim.begin_call(ctx.scenario)
    caller = new_caller_number()
    first_line = ctx.scenario.turns[0].caller
    assert first_line is not None

    async with RtpSink() as sink, stack.api() as lk:
        call = SippCall(
            target=f"127.0.0.1:{ctx.sip.sip_port}", called_number=SIP_AGENT_CALLED,
            caller_number=caller,
            audio_text=first_line,
            # a breath before the line, then silence for the rest of the call (the scenario
            # loops the file; the trailing silence outlasts the hold, so the line is said once)
            audio_lead_s=1.5, audio_trail_s=HOLD_MS / 1000 + 10,
            hold_ms=HOLD_MS, timeout_s=int(WAIT_S + HOLD_MS / 1000),
            rtp_sink_port=sink.port,
        )
        started = time.monotonic()
        call.start()
        try:
            room, participant = await _call_room(lk, caller, call)
            assert room.startswith(ctx.settings.room_prefix)
            assert participant.kind == api.ParticipantInfo.Kind.SIP

            # the dispatch rule sent our worker's agent name, with the rule's metadata
            dispatches = await lk.agent_dispatch.list_dispatch(room)
            assert [d.agent_name for d in dispatches] == [stack.agent_name]
            metadata = parse_job_metadata(dispatches[0].metadata)
            assert metadata == {"call_direction": "inbound", "provisioned_by": "sipagent"}
            # no call_id in the rule's metadata: the worker names the call after the room
            call_id = call_id_for(room, metadata)
            async with asyncio.timeout(WAIT_S):
                while not await agent_joined(lk, room):  # the worker takes the job
                    assert call.running(), call.messages()[-3000:]
                    await asyncio.sleep(0.1)

            # the agent's voice comes back over RTP: the greeting, then (after the model's
            # tool call went through our tool) the scripted reply to the caller's line
            async with asyncio.timeout(WAIT_S):
                await sink.wait_for_voice()
            async with asyncio.timeout(WAIT_S):
                # the session's simulator log holds earlier calls' tools too: this call's only
                def mine() -> list[ToolCallRecord]:
                    return [t for t in sim.tool_calls_received if t.received_at >= started]

                while not (mine() and sink.voiced_after(mine()[0].received_at)):
                    assert call.running(), _timeline(sink, sim, started)
                    await asyncio.sleep(0.1)
            tool = mine()[0]
            assert (tool.name, tool.turn_index, tool.expectation_met) == (
                "record_field", 0, True)

            # sipp hangs up when the hold is over: answered with 200, BYE answered with 200
            exit_code = await asyncio.to_thread(call.wait, WAIT_S + HOLD_MS / 1000)
            assert exit_code == 0, call.messages()[-3000:]
            assert call.response_codes().count(200) >= 2
        finally:
            call.stop()

    # the BYE ended the job: the worker's shutdown callback ran for this call
    worker_log = stack.workers[0].log_path
    async with asyncio.timeout(WAIT_S):
        while True:  # a log line is all there is to wait on outside the worker
            if _finished(worker_log, call_id):
                break
            await asyncio.sleep(0.25)

    record = await stored_call(stack.database_url, call_id)
    assert record["call"]["caller_number"] == caller
    assert record["call"]["room"] == room
    caller_turns = [t["text"] for t in record["turns"] if t["role"] == "caller"]
    assert caller_turns, json.dumps(record["turns"])
    assert record["outcome"]["fields"]["problem"]
    assert sink.stats.pcmu_packets > sink.stats.voiced_packets > 0
