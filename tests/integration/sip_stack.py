"""What the SIP tests share: the stack fixture's shape and ways to find a call in it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from livekit import api

from agent.outbound_cli import wait_for_outcome
from devstack.livekit_sip import LiveKitSip
from devstack.local_call import LocalStack
from realtime_simulator import Scenario
from sip.config import SipSettings

if TYPE_CHECKING:
    from testbed.sipp.phone import SippPhone

SIP_AGENT_CALLED = "+15550143001"
SIP_AGENT_RESOURCE = "sipagent"
# the stack's playbook gives a warm transfer this long to be answered
SIP_TRANSFER_TIMEOUT_S = 8
# and a supervisor on the live board this long to accept before the phone rings
SIP_BOARD_RING_S = 4


@dataclass
class SipAgentStack:
    stack: LocalStack
    sip: LiveKitSip
    settings: SipSettings
    scenario: Scenario
    # the outbound trunk sends every call to this loopback UDP port: a SippPhone listens there
    phone_port: int


# How long a test waits for something to show up; an upper bound on waiting, not a measurement.
SIP_WAIT_S = 60.0


def answering_person(stack: SipAgentStack, rtp_sink_port: int) -> SippPhone:
    """The person a transfer dials (not started): answers, says hello on pick-up and again every
    few seconds (after a transfer the caller must hear it through the connection)."""
    from testbed.sipp.phone import SippPhone

    return SippPhone(port=stack.phone_port, rtp_sink_port=rtp_sink_port,
                     audio_text="Hi, this is Dana.", audio_trail_s=2.5,
                     timeout_s=int(SIP_WAIT_S * 2))


# one number per single-zone region; at any hour one of them is awake (8:00-21:00 local)
LEAD_CANDIDATES = ("+15125550123", "+442079460123", "+81312345678", "+18085550123")
# an outbound test's dialing starts within this; the lead must be callable all that time
LEAD_CALLABLE_FOR = timedelta(minutes=15)


def callable_lead(playbook: Path) -> str:
    """A lead number the worker may dial now and for the next minutes: calling hours are
    checked against the real clock, at dialing time, and nothing may bypass them."""
    from agent.calling_hours import check_calling_hours
    from tools.playbook import load_playbook

    rules = load_playbook(playbook)
    now = datetime.now(UTC)
    for number in LEAD_CANDIDATES:
        if all(check_calling_hours(rules, number, at) is None
               for at in (now, now + LEAD_CALLABLE_FOR)):
            return number
    raise AssertionError("no candidate lead is inside its calling window now")


def new_caller_number() -> str:
    return "+1555017" + f"{uuid.uuid4().int % 10_000:04d}"


async def agent_joined(lk: api.LiveKitAPI, room: str) -> bool:
    people = await lk.room.list_participants(api.ListParticipantsRequest(room=room))
    return any(p.kind == api.ParticipantInfo.Kind.AGENT for p in people.participants)


async def stored_call(database_url: str, call_id: str) -> dict[str, Any]:
    """The call's record once its outcome is in Postgres (the worker writes it after the job)."""
    record = await wait_for_outcome(database_url, call_id, SIP_WAIT_S)
    assert record is not None, f"no outcome stored for call {call_id}"
    return record
