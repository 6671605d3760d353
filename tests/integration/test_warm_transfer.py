"""Warm transfer on the real stack: the caller holds while our worker dials a person (sipp, over
the provisioned outbound trunk and livekit-sip), briefs them, and connects the two; when nobody
answers, the agent comes back to the caller and books a callback.

The caller is the simulated caller (a LiveKit participant); the person is a `SippPhone`, and an
`RtpSink` hears what is said to them.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
import uuid
from typing import Any

import pytest
from livekit import api

from realtime_simulator import parse_scenario
from simulated_caller import SimulatedCaller
from testbed.sipp.phone import NEVER_ANSWERS, SippPhone
from testbed.sipp.rtp_sink import RtpSink

from .sip_stack import (
    SIP_TRANSFER_TIMEOUT_S,
    SIP_WAIT_S,
    SipAgentStack,
    answering_person,
    stored_call,
)

pytestmark = pytest.mark.integration

ASKS_FOR_A_PERSON = """
name: warm-transfer
fallback_reply: "Of course. Let me connect you with someone from our team."
turns:
  - caller: "Hi, I'm Pat Lee, my number is five one two, five five five, zero one four two."
    agent:
      - tool: record_field
        arguments: {field: name, value: "Pat Lee"}
      - tool: record_field
        arguments: {field: phone, value: "512 555 0142"}
      - say: "Thanks Pat. What can we help you with?"
  - caller: "My water heater is leaking. Can I talk to a person please?"
    agent:
      - say: "Of course. Let me connect you with someone from our team."
  - caller: "Hi Dana, thanks for picking up."
    agent: []
  - hangup: true
    pause_before_ms: 300
"""

NOBODY_ANSWERS = """
name: warm-transfer-no-answer
fallback_reply: "I'm sorry, nobody could pick up. I've asked for someone to call you back."
turns:
  - caller: "Hi, I'm Pat Lee, my number is five one two, five five five, zero one four two."
    agent:
      - tool: record_field
        arguments: {field: name, value: "Pat Lee"}
      - tool: record_field
        arguments: {field: phone, value: "512 555 0142"}
      - say: "Thanks Pat. What can we help you with?"
  - caller: "Can I talk to a person please?"
    agent:
      - say: "Of course. Let me connect you with someone from our team."
  - caller: "Okay, thank you."
    agent:
      - say: "You're welcome. Is there anything else?"
  - hangup: true
    pause_before_ms: 300
"""


def _events(record: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e["payload"] for e in record["events"] if e["kind"] == kind]


async def test_the_person_is_briefed_then_connected_with_the_caller(
        sip_agent_stack: SipAgentStack) -> None:
    stack = sip_agent_stack.stack
    assert stack.database_url is not None
    connected: dict[str, float] = {}

    async with RtpSink() as sink:
        phone = answering_person(sip_agent_stack, sink.port)
        phone.start()

        async def after_the_transfer(index: int, caller: SimulatedCaller) -> None:
            if index != 2:
                return
            # the person's voice reaches the caller on the transfer's own track
            connected["heard_person_at"] = await caller.wait_for_agent_audio_after(
                0.0, timeout=SIP_WAIT_S, track="transfer-relay")
            connected["briefing_packets"] = sink.stats.voiced_packets

        try:
            result = await stack.place_call(parse_scenario(ASKS_FOR_A_PERSON),
                                            before_line=after_the_transfer)
            # the caller hung up: the agent hangs up the person's leg
            assert await asyncio.to_thread(phone.wait, SIP_WAIT_S) == 0, \
                phone.messages()[-3000:]
        finally:
            phone.stop()

    assert phone.answered() and phone.requests_received("BYE")
    assert phone.requests_received("INVITE")[0].startswith("INVITE sip:+15125550100@")
    # between asking for a person and hearing them, the caller heard the handoff line, the hold
    # message and the hold chime (separate stretches of the agent's own audio)
    asked = result.report.turns[1].speech_ended_at
    on_hold = [seg for seg in result.report.segments
               if asked < seg.started_at < connected["heard_person_at"]
               and seg.track != "transfer-relay"]
    assert len(on_hold) >= 3, on_hold
    # the person was briefed before being connected, and heard the caller afterwards
    assert connected["briefing_packets"] > 0
    caller_line = result.report.turns[2]
    assert sink.voiced_after(caller_line.speech_started_at) > 0

    record = await stored_call(stack.database_url, result.call_id)
    stages = [(e.get("stage"), e.get("transferred"), e.get("via"))
              for e in _events(record, "escalation")]
    assert ("hold", None, None) in stages
    assert ("warm_transfer", True, "relay") in stages  # open-source livekit-server: relayed
    assert {"status": "transfer_ended"} in [
        {"status": e.get("status")} for e in _events(record, "status")]
    assert record["outcome"]["escalation_reason"] == "human_request"
    assert record["outcome"]["fields"]["phone"] == "+15125550142"


async def test_nobody_answers_so_the_agent_comes_back_and_books_a_callback(
        sip_agent_stack: SipAgentStack) -> None:
    stack = sip_agent_stack.stack
    assert stack.database_url is not None
    came_back: dict[str, float] = {}
    phone = SippPhone(port=sip_agent_stack.phone_port, scenario=NEVER_ANSWERS,
                      timeout_s=int(SIP_WAIT_S))
    phone.start()

    async def after_the_ringing(index: int, caller: SimulatedCaller) -> None:
        if index != 2:
            return
        async with asyncio.timeout(SIP_TRANSFER_TIMEOUT_S + SIP_WAIT_S):
            while not phone.hung_up_on():  # noqa: ASYNC110 (sipp's trace file: nothing to await)
                await asyncio.sleep(0.1)
        gave_up = time.monotonic()
        came_back["at"] = await caller.wait_for_agent_audio_after(gave_up, timeout=SIP_WAIT_S)

    try:
        result = await stack.place_call(parse_scenario(NOBODY_ANSWERS),
                                        before_line=after_the_ringing)
        assert await asyncio.to_thread(phone.wait, SIP_WAIT_S) == 0, phone.messages()[-3000:]
    finally:
        phone.stop()

    assert "at" in came_back  # the agent spoke to the caller again after the ringing stopped
    assert phone.requests_received("CANCEL") and not phone.requests_received("ACK")
    record = await stored_call(stack.database_url, result.call_id)
    transfer = [e for e in _events(record, "escalation") if e.get("stage") == "warm_transfer"]
    assert transfer == [{"category": "human_request", "stage": "warm_transfer",
                         "transferred": False, "reason": "no_answer"}]
    booked = [e for e in _events(record, "status") if e.get("status") == "callback_booked"]
    assert len(booked) == 1 and booked[0]["reference"]  # the booking backend confirmed it
    # the caller was back with the agent: their next line is in the record
    caller_lines = [t["text"] for t in record["turns"] if t["role"] == "caller"]
    assert any("thank you" in line.lower() for line in caller_lines)


HANGS_UP_ON_HOLD = """
name: warm-transfer-caller-leaves
fallback_reply: "Of course. Let me connect you with someone from our team."
turns:
  - caller: "Can I talk to a person please?"
    agent:
      - say: "Of course. Let me connect you with someone from our team."
  - hangup: true
    pause_before_ms: 300
"""


async def test_a_caller_who_hangs_up_on_hold_leaves_no_call_to_the_person_behind(
        sip_agent_stack: SipAgentStack) -> None:
    stack = sip_agent_stack.stack
    assert stack.database_url is not None
    # the person picks up 3 s after the phone starts ringing: after the caller has gone
    phone = SippPhone(port=sip_agent_stack.phone_port, hold_ms=3000,
                      timeout_s=int(SIP_WAIT_S))
    phone.start()

    async def once_it_rings(index: int, _caller: SimulatedCaller) -> None:
        if index != 1:
            return
        async with asyncio.timeout(SIP_WAIT_S):
            while not phone.requests_received("INVITE"):  # noqa: ASYNC110 (sipp's trace file)
                await asyncio.sleep(0.1)

    try:
        result = await stack.place_call(parse_scenario(HANGS_UP_ON_HOLD),
                                        before_line=once_it_rings)
        # the person's phone stops ringing, or is hung up on once answered: nobody is left
        # waiting in the consultation room
        async with asyncio.timeout(SIP_WAIT_S):
            while not phone.hung_up_on():  # noqa: ASYNC110 (sipp's trace file)
                await asyncio.sleep(0.1)
    finally:
        phone.stop()
    record = await stored_call(stack.database_url, result.call_id)
    stages = [e.get("stage") for e in _events(record, "escalation")]
    assert "hold" in stages and "warm_transfer" not in stages  # never connected
    async with stack.api() as lk:
        rooms = [r.name for r in (await lk.room.list_rooms(api.ListRoomsRequest())).rooms]
    assert f"{result.room}-consult" not in rooms


# the no-answer call, but the agent dies while the phone rings: the replacement's resume line
# and its callback offer both come before the caller's next line, so the caller waits for both
RESTARTS_ON_HOLD = NOBODY_ANSWERS.replace(
    "name: warm-transfer-no-answer", "name: warm-transfer-agent-dies-on-hold").replace(
    '  - caller: "Okay, thank you."\n',
    '  - caller: "Okay, thank you."\n    pause_before_ms: 2500\n')


async def test_an_agent_that_dies_while_the_caller_holds_ends_the_persons_leg_and_books_a_callback(
        sip_agent_stack: SipAgentStack) -> None:
    """The job is killed while the person's phone rings. The person picks up later into an
    empty consultation room; the replacement agent hangs that leg up (or cancels the ringing),
    speaks to the caller again and books the callback: no silence, nobody left waiting."""
    stack = sip_agent_stack.stack
    assert stack.database_url is not None
    call_id = f"holdkill{uuid.uuid4().hex[:8]}"
    # rings 6 s, under the playbook's ring timeout: without the replacement's clean-up the
    # person would answer and wait in the consultation room until sipp gave up
    phone = SippPhone(port=sip_agent_stack.phone_port, hold_ms=6000,
                      timeout_s=int(SIP_WAIT_S * 2))
    phone.start()
    seen: dict[str, float] = {}

    async def kill_while_it_rings(index: int, caller: SimulatedCaller) -> None:
        if index != 2:
            return
        async with asyncio.timeout(SIP_WAIT_S):
            while not phone.requests_received("INVITE"):  # noqa: ASYNC110 (sipp's trace file)
                await asyncio.sleep(0.1)
        killed_agent = caller.agent_identity
        os.kill(stack.job_pid(call_id), signal.SIGKILL)
        killed_at = time.monotonic()
        seen["back_at"] = await caller.wait_for_agent_audio_after(
            killed_at, timeout=SIP_WAIT_S, other_than=killed_agent)
        async with asyncio.timeout(SIP_WAIT_S):
            while not phone.hung_up_on():  # noqa: ASYNC110 (sipp's trace file)
                await asyncio.sleep(0.1)
        seen["person_released_after_s"] = time.monotonic() - killed_at

    try:
        result = await stack.place_call(parse_scenario(RESTARTS_ON_HOLD), call_id=call_id,
                                        before_line=kill_while_it_rings)
    finally:
        phone.stop()

    assert "back_at" in seen and "person_released_after_s" in seen, seen
    record = await stored_call(stack.database_url, call_id)
    statuses = [e.get("status") for e in _events(record, "status")]
    assert statuses.count("resumed") == 1
    transfer = [e for e in _events(record, "escalation") if e.get("stage") == "warm_transfer"]
    assert transfer == [{"category": "human_request", "stage": "warm_transfer",
                         "transferred": False, "reason": "agent_restarted"}]
    booked = [e for e in _events(record, "status") if e.get("status") == "callback_booked"]
    assert len(booked) == 1 and booked[0]["reference"]
    caller_lines = [t["text"] for t in record["turns"] if t["role"] == "caller"]
    assert any("thank you" in line.lower() for line in caller_lines)
    async with stack.api() as lk:
        rooms = [r.name for r in (await lk.room.list_rooms(api.ListRoomsRequest())).rooms]
    assert f"{result.room}-consult" not in rooms
