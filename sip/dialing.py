"""Dialing out over the outbound trunk: a person to hand a call to, or a lead to call.

`dial` asks LiveKit to place the call (`create_sip_participant`) into a room and waits until it
is answered, bounded by a ring timeout. Every expected failure becomes a `DialError` with a
short reason (no_answer, busy, rejected, unreachable, no_trunk); its message never carries the
number, so it can be logged.
"""

from __future__ import annotations

import logging

import aiohttp
from livekit import api

from sip.call_control import Answered, DialError, DialFailure

logger = logging.getLogger("intake.sip.dialing")

# the answered call's setup (media, room join) after the far side picked up
ANSWER_SETUP_S = 10.0


def outbound_trunk_name(resource_name: str) -> str:
    """The name `intake provision` gives the outbound trunk (sip.config.SipSettings)."""
    return f"{resource_name}-outbound"


async def find_outbound_trunk(lk: api.LiveKitAPI, *, trunk_id: str = "",
                              resource_name: str = "intake") -> str:
    """The outbound trunk's id: `trunk_id` when set, else the provisioned trunk found by name."""
    if trunk_id:
        return trunk_id
    name = outbound_trunk_name(resource_name)
    try:
        trunks = await lk.sip.list_outbound_trunk(api.ListSIPOutboundTrunkRequest())
    except (api.TwirpError, aiohttp.ClientError, TimeoutError) as exc:
        raise DialError("unreachable", type(exc).__name__) from None
    matches = [t.sip_trunk_id for t in trunks.items if t.name == name]
    if len(matches) != 1:
        raise DialError("no_trunk", f"{len(matches)} outbound trunks named {name}")
    return matches[0]


def _failure_for(status: int | None) -> DialFailure:
    if status in (486, 600):
        return "busy"
    if status in (408, 480, 487) or status is None:
        return "no_answer"
    return "rejected"


async def dial(lk: api.LiveKitAPI, *, room: str, number: str, trunk_id: str, identity: str,
               ring_timeout_s: float, name: str = "", attributes: dict[str, str] | None = None,
               ) -> Answered:
    """Call `number` into `room` as `identity` and wait until it is answered."""
    request = api.CreateSIPParticipantRequest(
        sip_trunk_id=trunk_id,
        sip_call_to=number,
        room_name=room,
        participant_identity=identity,
        participant_name=name or identity,
        participant_attributes=attributes or {},
        wait_until_answered=True,
        play_dialtone=False,
        hide_phone_number=True,
    )
    request.ringing_timeout.FromMilliseconds(int(ring_timeout_s * 1000))
    try:
        await lk.sip.create_sip_participant(request, timeout=ring_timeout_s + ANSWER_SETUP_S)
    except api.SipCallError as exc:
        raise DialError(_failure_for(exc.sip_status_code),
                        f"SIP {exc.sip_status_code}") from None
    except api.TwirpError as exc:
        # livekit-sip's ring timeout comes back as HTTP 408 ("sip request timed out", code
        # canceled); "unavailable" is the SIP service refusing (overloaded, or not running)
        failure: DialFailure
        if exc.status == 408 or exc.code in ("canceled", "deadline_exceeded"):
            failure = "no_answer"
        elif exc.code == "unavailable":
            failure = "unreachable"
        else:
            failure = "rejected"
        raise DialError(failure, exc.code) from None
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise DialError("no_answer" if isinstance(exc, TimeoutError) else "unreachable",
                        type(exc).__name__) from None
    return Answered(participant_identity=identity, room=room)


__all__ = ["ANSWER_SETUP_S", "Answered", "DialError", "DialFailure", "dial",
           "find_outbound_trunk", "outbound_trunk_name"]
