"""Outbound calls end to end: `intake call`'s dispatch -> our worker dials over the outbound
trunk -> livekit-sip -> a sipp phone that answers as a person, as an answering machine, or not
at all.

The phone's audio is a ulaw file it plays once it answers; what our agent says comes back to an
`RtpSink` (the phone's SDP answer names the sink's port). Outcomes are read from Postgres the
way `intake call` waits for them.
"""

from __future__ import annotations

import asyncio
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from livekit import api

from agent.cli import main
from agent.outbound_cli import dispatch_outbound_call, outbound_result, wait_for_outcome
from testbed.sipp import synthesize_ulaw
from testbed.sipp.phone import ANSWER_AUDIO_FILE, NEVER_ANSWERS, SippPhone
from testbed.sipp.rtp_sink import RtpSink

from .sip_stack import SIP_WAIT_S, SipAgentStack, callable_lead

pytestmark = pytest.mark.integration

# sipp's whole run: ringing, screening, the opening or the voicemail, hang-up
PHONE_TIMEOUT_S = 120
MACHINE_GREETING = ("Hi, you have reached the Garcia family. We cannot come to the phone right "
                    "now. Please leave your name and number after the tone, and we will call "
                    "you back as soon as we can.")
ULAW_SILENCE = b"\xff"
OUTBOUND_STEPS = {"dialing", "answered", "voicemail_left", "dial_failed", "hung_up"}


def statuses(record: dict[str, Any]) -> list[dict[str, Any]]:
    return [e["payload"] for e in record["events"] if e["kind"] == "status"]


def write_answering_machine(path: Path, seconds_after: float) -> None:
    """A recorded greeting, a 1 kHz beep, then silence (raw 8 kHz mu-law, as sipp plays it)."""
    greeting = synthesize_ulaw(MACHINE_GREETING, path.with_name("greeting.ulaw"),
                               lead_s=0.3, trail_s=0.4)
    beep = path.with_name("beep.ulaw")
    subprocess.run(["sox", "-n", "-r", "8000", "-c", "1", "-e", "mu-law", "-t", "raw",
                    str(beep), "synth", "0.6", "sine", "1000", "vol", "0.5"],
                   check=True, capture_output=True)
    path.write_bytes(greeting.read_bytes() + beep.read_bytes()
                     + ULAW_SILENCE * int(8000 * seconds_after))


async def outcome_of(stack: SipAgentStack, call_id: str) -> dict[str, Any]:
    assert stack.stack.database_url is not None
    record = await wait_for_outcome(stack.stack.database_url, call_id, SIP_WAIT_S)
    assert record is not None, f"no outcome stored for call {call_id}"
    return record


async def until_agent_is_quiet(sink: RtpSink, quiet_s: float = 1.5) -> None:
    """The agent spoke and then stopped (its line is over); bounded by the caller."""
    await sink.wait_for_voice()
    while time.monotonic() - sink.stats.voiced_at[-1] < quiet_s:  # noqa: ASYNC110
        await asyncio.sleep(0.1)


async def test_a_person_answers_and_hears_the_outbound_opening(
        sip_agent_stack: SipAgentStack) -> None:
    ctx = sip_agent_stack
    stack, sim = ctx.stack, ctx.stack.simulator
    assert sim is not None and stack.playbook is not None
    lead = callable_lead(stack.playbook)
    sim.begin_call(ctx.scenario)
    async with RtpSink() as sink, stack.api() as lk:
        phone = SippPhone(port=ctx.phone_port, audio_text="Hello?", rtp_sink_port=sink.port,
                          timeout_s=PHONE_TIMEOUT_S)
        phone.start()
        try:
            placed = await dispatch_outbound_call(lk, agent_name=stack.agent_name, number=lead)
            assert lead[2:] not in placed.room
            async with asyncio.timeout(SIP_WAIT_S):
                await until_agent_is_quiet(sink)
            assert phone.answered()
            # the operator ends the call: the lead's leg gets its BYE
            await lk.room.delete_room(api.DeleteRoomRequest(room=placed.room))
            assert await asyncio.to_thread(phone.wait, SIP_WAIT_S) == 0, phone.messages()[-3000:]
            assert phone.requests_received("BYE")
            invite = phone.requests_received("INVITE")[0]
            assert invite.startswith(f"INVITE sip:{lead}@")
        finally:
            phone.stop()

    record = await outcome_of(ctx, placed.call_id)
    call = record["call"]
    assert call["metadata"]["call_direction"] == "outbound"
    assert "dial_to" not in call["metadata"]
    assert call["caller_number"] == lead
    assert call["room"] == placed.room
    assert {"status": "answered", "answered_by": "person"} in statuses(record)
    agent_turns = [t["text"] for t in record["turns"] if t["role"] == "agent"]
    assert agent_turns and agent_turns[0].startswith(
        "Hi, this is Brightline Home Services calling you back"), agent_turns
    assert outbound_result(record) == "answered by a person"
    assert sink.stats.voiced_packets > 0


async def test_an_answering_machine_gets_the_voicemail_and_the_agent_hangs_up(
        sip_agent_stack: SipAgentStack) -> None:
    ctx = sip_agent_stack
    assert ctx.stack.playbook is not None
    lead = callable_lead(ctx.stack.playbook)
    async with RtpSink() as sink, ctx.stack.api() as lk:
        phone = SippPhone(port=ctx.phone_port, rtp_sink_port=sink.port,
                          timeout_s=PHONE_TIMEOUT_S)
        write_answering_machine(phone.workdir / ANSWER_AUDIO_FILE, PHONE_TIMEOUT_S + 10)
        phone.start()
        try:
            placed = await dispatch_outbound_call(lk, agent_name=ctx.stack.agent_name,
                                                  number=lead)
            # the agent hangs up by itself once the message is left
            assert await asyncio.to_thread(phone.wait, SIP_WAIT_S + 30) == 0, (
                phone.messages()[-3000:])
            assert phone.answered()
            assert phone.requests_received("BYE")
        finally:
            phone.stop()

    record = await outcome_of(ctx, placed.call_id)
    assert record["call"]["metadata"]["call_direction"] == "outbound"
    steps = [s["status"] for s in statuses(record)]
    assert [s for s in steps if s in OUTBOUND_STEPS] == ["dialing", "answered", "voicemail_left"]
    assert {"status": "answered", "answered_by": "machine"} in statuses(record)
    assert record["outcome"]["recommended_next_action"].startswith("Voicemail left")
    assert record["turns"] == []  # the model never took part
    assert outbound_result(record) == "voicemail left"
    # the voicemail message reached the machine
    assert sink.stats.voiced_packets > 0


async def test_nobody_answering_is_recorded_as_no_answer(sip_agent_stack: SipAgentStack) -> None:
    ctx = sip_agent_stack
    assert ctx.stack.playbook is not None
    lead = callable_lead(ctx.stack.playbook)
    phone = SippPhone(port=ctx.phone_port, scenario=NEVER_ANSWERS, timeout_s=int(SIP_WAIT_S))
    phone.start()
    try:
        async with ctx.stack.api() as lk:
            placed = await dispatch_outbound_call(lk, agent_name=ctx.stack.agent_name,
                                                  number=lead, ring_timeout_s=5)
        assert await asyncio.to_thread(phone.wait, SIP_WAIT_S) == 0, phone.messages()[-3000:]
        assert phone.requests_received("CANCEL")
    finally:
        phone.stop()
    record = await outcome_of(ctx, placed.call_id)
    assert {"status": "dial_failed", "reason": "no_answer"} in statuses(record)
    assert outbound_result(record) == "dial failed: no_answer"
    assert record["outcome"]["missing_fields"]


async def test_the_cli_places_the_call_and_prints_how_it_went(
        sip_agent_stack: SipAgentStack, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    ctx = sip_agent_stack
    livekit = ctx.stack.livekit
    assert livekit is not None and ctx.stack.database_url is not None
    assert ctx.stack.playbook is not None
    lead = callable_lead(ctx.stack.playbook)
    for name, value in {"INTAKE_PLAYBOOK": str(ctx.stack.playbook),
                        "LIVEKIT_URL": livekit.url, "LIVEKIT_API_KEY": livekit.api_key,
                        "LIVEKIT_API_SECRET": livekit.api_secret,
                        "INTAKE_AGENT_NAME": ctx.stack.agent_name,
                        "INTAKE_DATABASE_URL": ctx.stack.database_url}.items():
        monkeypatch.setenv(name, value)
    for name in ("TWILIO_PHONE_NUMBERS", "TWILIO_PHONE_NUMBER",
                 "SIP_OUTBOUND_ADDRESS", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    phone = SippPhone(port=ctx.phone_port, scenario=NEVER_ANSWERS, timeout_s=int(SIP_WAIT_S))
    phone.start()
    try:
        # no --now: a real call is placed only inside calling hours as of now
        code = await asyncio.to_thread(main, ["call", lead, "--ring-timeout", "5",
                                              "--wait-timeout", str(SIP_WAIT_S)])
        assert phone.requests_received("CANCEL")
    finally:
        phone.stop()
    out, err = capsys.readouterr()
    assert code == 0, err
    first, second, *rest = out.splitlines()
    call_id = first.removeprefix("call ").removesuffix(": dialing")
    assert second == f"call {call_id}: dial failed: no_answer"
    assert rest[0].startswith("  missing: ") and "problem" in rest[0]
    assert lead not in out and lead not in err
