"""What the SIP tests share: the stack fixture's shape and ways to find a call in it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from livekit import api

from agent.outbound_cli import wait_for_outcome
from devstack.livekit_sip import LiveKitSip
from devstack.local_call import LocalStack
from realtime_simulator import Scenario
from sip.config import SipSettings

SIP_AGENT_CALLED = "+15550143001"
SIP_AGENT_RESOURCE = "sipagent"
# the stack's playbook gives a warm transfer this long to be answered
SIP_TRANSFER_TIMEOUT_S = 8


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
