"""Dialing out over the provisioned outbound trunk (sip.dialing) to a sipp phone."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from livekit import api

from sip.dialing import DialError, dial, find_outbound_trunk
from testbed.sipp.phone import NEVER_ANSWERS, SippPhone

from .sip_stack import SIP_AGENT_RESOURCE, SIP_WAIT_S, SipAgentStack

pytestmark = pytest.mark.integration

PERSON = "+15125550100"


async def test_an_answered_call_joins_the_room_and_hangs_up_when_removed(
        sip_agent_stack: SipAgentStack) -> None:
    room = f"dial-{uuid.uuid4().hex[:8]}"
    phone = SippPhone(port=sip_agent_stack.phone_port, timeout_s=int(SIP_WAIT_S))
    phone.start()
    try:
        async with sip_agent_stack.stack.api() as lk:
            trunk = await find_outbound_trunk(lk, resource_name=SIP_AGENT_RESOURCE)
            answered = await dial(lk, room=room, number=PERSON, trunk_id=trunk,
                                  identity="person", ring_timeout_s=15)
            assert answered.participant_identity == "person"
            people = await lk.room.list_participants(api.ListParticipantsRequest(room=room))
            person = next(p for p in people.participants if p.identity == "person")
            assert person.kind == api.ParticipantInfo.Kind.SIP
            assert phone.answered()
            await lk.room.remove_participant(
                api.RoomParticipantIdentity(room=room, identity="person"))
        assert await asyncio.to_thread(phone.wait, SIP_WAIT_S) == 0, phone.messages()[-3000:]
        assert phone.requests_received("BYE")
        invite = phone.requests_received("INVITE")[0]
        assert invite.startswith(f"INVITE sip:{PERSON}@")
    finally:
        phone.stop()


async def test_nobody_answering_is_a_no_answer_and_the_ringing_is_cancelled(
        sip_agent_stack: SipAgentStack) -> None:
    room = f"dial-{uuid.uuid4().hex[:8]}"
    phone = SippPhone(port=sip_agent_stack.phone_port, scenario=NEVER_ANSWERS,
                      timeout_s=int(SIP_WAIT_S))
    phone.start()
    try:
        async with sip_agent_stack.stack.api() as lk:
            trunk = await find_outbound_trunk(lk, resource_name=SIP_AGENT_RESOURCE)
            with pytest.raises(DialError) as failure:
                await dial(lk, room=room, number=PERSON, trunk_id=trunk, identity="person",
                           ring_timeout_s=5)
            assert failure.value.reason == "no_answer"
            assert PERSON not in str(failure.value)  # safe to log
        assert await asyncio.to_thread(phone.wait, SIP_WAIT_S) == 0, phone.messages()[-3000:]
        assert phone.requests_received("CANCEL")
    finally:
        phone.stop()


async def test_a_missing_trunk_is_named_in_the_error(sip_agent_stack: SipAgentStack) -> None:
    async with sip_agent_stack.stack.api() as lk:
        with pytest.raises(DialError) as failure:
            await find_outbound_trunk(lk, resource_name="no-such-resource")
    assert failure.value.reason == "no_trunk"
    assert "no-such-resource-outbound" in str(failure.value)
