"""Keypad input over a real SIP call: RFC 4733 telephone-events from sipp to our worker.

sipp (`DtmfCall`, testbed/sipp/uac_dtmf.xml) calls livekit-sip, which puts the caller in a room our
worker is dispatched to. A moment after the answer sipp sends the keys as RFC 4733 events
(payload type 101, from a pcap that testbed.sipp.dtmf_pcap writes) next to its G.711 audio.
livekit-sip turns each event into a `SipDTMF` data packet; the worker's CallSession feeds them
to its DtmfCollector: 0 asks for a person, digits then # answer the question the agent asked.
The caller stays silent, so the simulator's script moves on only through what the keys do: the
first response the worker asks for takes the scenario's `greeting` steps.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Callable
from typing import Any

import pytest
from livekit import api

from agent.config import DEFAULT_PLAYBOOK
from agent.job_metadata import call_id_for, parse_job_metadata
from realtime_simulator import RealtimeSimulator, parse_scenario
from testbed.sipp import DtmfCall
from testbed.sipp.phone import free_udp_port
from testbed.sipp.rtp_sink import RtpSink
from tools.playbook import load_playbook

from .sip_stack import (
    SIP_AGENT_CALLED,
    SIP_WAIT_S,
    SipAgentStack,
    agent_joined,
    new_caller_number,
    stored_call,
)

pytestmark = pytest.mark.integration

# the caller presses keys this long after the answer (the greeting is playing by then)
KEYS_AFTER_MS = 2_000
# how long the caller waits after the keys for the agent to hang up or transfer before hanging
# up itself; an upper bound, reached only when neither happens
AFTER_KEYS_MS = 45_000
# after 0: a cold transfer (REFER) ends the caller's leg as soon as the handoff line is said; a
# warm one puts the caller on hold, so the caller hangs up after this (the test is about the key)
HUMAN_WAIT_MS = 30_000
SIPP_TIMEOUT_S = int(SIP_WAIT_S + (KEYS_AFTER_MS + AFTER_KEYS_MS) / 1000)

# a made-up number in the 555-01xx range kept for fiction
TYPED_DIGITS = "5125550143"

HANDOFF_LINE = "Of course. Let me connect you with someone from our team."
HUMAN_SCENARIO = parse_scenario(f"""
name: sip-dtmf-human
greeting:
  # the reply the worker asks for when the caller presses 0
  - say: "{HANDOFF_LINE}"
turns:
  - hangup: true
""", source="test_sip_dtmf human")

DIGITS_SCENARIO = parse_scenario(f"""
name: sip-dtmf-digits
greeting:
  # the reply the worker asks for once the caller has typed the number and pressed #
  - tool: record_field
    arguments: {{field: phone, value: "{TYPED_DIGITS}"}}
    expect_output_contains: "phone"
  - say: "Thanks, I have five one two, five five five, zero one four three."
  - tool: end_call
    arguments: {{reason: caller_request}}
  - say: "Goodbye!"
turns:
  - hangup: true
""", source="test_sip_dtmf digits")


async def _answered_call(lk: api.LiveKitAPI, caller: str, call: DtmfCall) -> str:
    """The call id our worker files the call under, once its agent is in the caller's room."""
    async with asyncio.timeout(SIP_WAIT_S):
        room = ""
        while not room:
            for candidate in (await lk.room.list_rooms(api.ListRoomsRequest())).rooms:
                people = await lk.room.list_participants(
                    api.ListParticipantsRequest(room=candidate.name))
                if any(p.attributes.get("sip.phoneNumber") == caller
                       for p in people.participants):
                    room = candidate.name
            assert call.running(), call.messages()[-3000:]
            await asyncio.sleep(0.2)
        dispatches = await lk.agent_dispatch.list_dispatch(room)
        assert dispatches, f"no agent dispatched to {room}"
    try:
        async with asyncio.timeout(SIP_WAIT_S):
            while not await agent_joined(lk, room):
                assert call.running(), call.messages()[-3000:]
                await asyncio.sleep(0.2)
    except TimeoutError:
        # livekit-server sends a job only to a worker whose reported load is under its
        # target_load, and does not retry: the call rings on with nobody to answer it
        raise AssertionError(
            f"no agent joined {room}: the dispatch rule's job never reached our worker "
            "(see 'failed to send job request' in livekit-server.log)") from None
    return call_id_for(room, parse_job_metadata(dispatches[0].metadata))


async def _place_call(ctx: SipAgentStack, keys: str,
                      after_keys_ms: int = AFTER_KEYS_MS) -> tuple[str, DtmfCall, float]:
    """One call that presses `keys`, through to sipp's end; (call id, the call, its start)."""
    stack = ctx.stack
    caller = new_caller_number()
    async with RtpSink() as sink, stack.api() as lk:
        call = DtmfCall(
            target=f"127.0.0.1:{ctx.sip.sip_port}", called_number=SIP_AGENT_CALLED,
            caller_number=caller, keys=keys, hold_ms=KEYS_AFTER_MS,
            after_keys_ms=after_keys_ms, timeout_s=SIPP_TIMEOUT_S,
            # the agent's audio goes to the sink; sipp's media port is a free one of its own
            rtp_sink_port=sink.port, media_port=free_udp_port(),
        )
        started = time.monotonic()
        call.start()
        try:
            call_id = await _answered_call(lk, caller, call)
            exit_code = await asyncio.to_thread(call.wait, SIPP_TIMEOUT_S + 10)
            assert exit_code == 0, call.messages()[-3000:]
        finally:
            call.stop()
    return call_id, call, started


async def _record_with(database_url: str, call_id: str,
                       ready: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """The stored record once `ready` holds for it (the writer copies events asynchronously)."""
    record: dict[str, Any] = {}
    try:
        async with asyncio.timeout(SIP_WAIT_S):
            while True:
                record = await stored_call(database_url, call_id)
                if ready(record):
                    return record
                await asyncio.sleep(0.5)
    except TimeoutError:
        raise AssertionError(json.dumps(record)[-3000:]) from None


def _events(record: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e["payload"] for e in record["events"] if e["kind"] == kind]


def _response_instructions(sim: RealtimeSimulator, since: float) -> list[str]:
    """Instructions of every response.create the worker sent since `since`."""
    found = []
    for wire in sim.wire_log:
        response = wire.event.get("response")
        if (wire.direction == "client" and wire.at >= since
                and wire.event.get("type") == "response.create" and isinstance(response, dict)):
            found.append(str(response.get("instructions") or ""))
    return found


async def test_pressing_0_asks_for_a_person(sip_agent_stack: SipAgentStack) -> None:
    ctx = sip_agent_stack
    stack, sim = ctx.stack, ctx.stack.simulator
    assert sim is not None and stack.database_url is not None
    sim.begin_call(HUMAN_SCENARIO)

    call_id, _call, started = await _place_call(ctx, keys="0", after_keys_ms=HUMAN_WAIT_MS)

    def escalated(record: dict[str, Any]) -> bool:
        return any(e.get("category") == "human_request" for e in _events(record, "escalation"))

    record = await _record_with(stack.database_url, call_id, escalated)
    events = json.dumps(record["events"])[-3000:]
    statuses = [e.get("status") for e in _events(record, "status")]
    assert "dtmf_human_request" in statuses, events
    escalations = [e for e in record["events"] if e["kind"] == "escalation"
                   and e["payload"].get("category") == "human_request"]
    # raised by the keypad (the guard), not by the model's escalate_to_human tool
    assert any(e["payload"].get("source") == "guard" for e in escalations), events
    # the agent was asked to say the playbook's handoff line for it ...
    handoff = load_playbook(DEFAULT_PLAYBOOK).escalation["human_request"].say
    instructions = _response_instructions(sim, started)
    assert any(handoff in text for text in instructions), instructions
    # ... and said it in full before the transfer went any further (cold: the REFER; warm: the
    # hold), even though 0 was pressed over the greeting
    said = [t["seq"] for t in record["turns"]
            if t["role"] == "agent" and t["text"].strip() == HANDOFF_LINE]
    assert said, json.dumps(record["turns"])
    later_steps = [e for e in escalations if e["payload"].get("stage") not in (None, "handoff")]
    assert all(e["seq"] > said[0] for e in later_steps), (said, later_steps)


async def test_typed_digits_then_pound_answer_the_question(
        sip_agent_stack: SipAgentStack) -> None:
    ctx = sip_agent_stack
    stack, sim = ctx.stack, ctx.stack.simulator
    assert sim is not None and stack.database_url is not None
    sim.begin_call(DIGITS_SCENARIO)

    call_id, call, started = await _place_call(ctx, keys=f"{TYPED_DIGITS}#")

    # the worker handed the typed digits to the model, one by one, in the reply it asked for
    spelled = " ".join(TYPED_DIGITS)
    instructions = _response_instructions(sim, started)
    assert any(spelled in text for text in instructions), instructions
    # the scripted model recorded them through our tool, then ended the call: the BYE came
    # from our side, not from the caller giving up
    tools = [t for t in sim.tool_calls_received if t.received_at >= started]
    assert [(t.name, t.expectation_met) for t in tools][:1] == [("record_field", True)], tools
    assert call.requests_received("BYE"), call.messages()[-3000:]

    record = await _record_with(stack.database_url, call_id,
                                lambda r: bool(r["outcome"]["fields"].get("phone")))
    phone = str(record["outcome"]["fields"]["phone"])
    assert re.sub(r"\D", "", phone).endswith(TYPED_DIGITS), phone
    assert "dtmf_human_request" not in [e.get("status") for e in _events(record, "status")]
