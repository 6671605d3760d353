"""Cold transfer: hand the caller's SIP leg to a person with a SIP REFER, and leave.

`cold_transfer` fits `agent.call_session.TransferFn`: it finds the room's SIP participant (the
caller) and asks LiveKit to transfer it (`transfer_sip_participant`). livekit-sip sends REFER to
the caller's side (Twilio, or sipp in tests), which dials the transfer number itself; the call
completes when that side reports success (NOTIFY with 200) or hangs up, and livekit-sip then ends
the caller's leg, so the job closes through the usual participant-disconnect path.

It never raises for an expected failure: no SIP participant (a simulated caller), no number, a
refused REFER or a timeout all return False, logged with a fixed message and no numbers.
"""

from __future__ import annotations

import logging
from typing import Protocol

import aiohttp
from livekit import api, rtc
from livekit.agents import JobContext

logger = logging.getLogger("intake.sip.transfer")

# Upper bound on the REFER round trip: accepted, and the far side's dial reported back
DEFAULT_TRANSFER_TIMEOUT_S = 30.0


class TransferRequest(Protocol):
    """What a transfer needs from an escalation (tools.context.EscalationRequest fits)."""

    @property
    def transfer_number(self) -> str: ...

    @property
    def category(self) -> str: ...


def sip_participant(room: rtc.Room) -> rtc.RemoteParticipant | None:
    """The first SIP participant to have joined (the caller), or None."""
    for participant in room.remote_participants.values():
        if participant.kind == rtc.ParticipantKind.PARTICIPANT_KIND_SIP:
            return participant
    return None


def refer_target(number: str) -> str:
    """A Refer-To URI for LiveKit: E.164 numbers become tel: URIs; sip:/tel: URIs pass as is."""
    number = number.strip()
    if number.lower().startswith(("tel:", "sip:", "sips:")):
        return number
    return f"tel:{number}"


async def cold_transfer(ctx: JobContext, request: TransferRequest, *,
                        timeout: float = DEFAULT_TRANSFER_TIMEOUT_S,
                        play_dialtone: bool = False) -> bool:
    """REFER the caller to `request.transfer_number`. True once the transfer went through."""
    log = {"category": request.category}
    if not request.transfer_number.strip():
        logger.warning("cold transfer skipped: no transfer number", extra=log)
        return False
    caller = sip_participant(ctx.room)
    if caller is None:
        logger.warning("cold transfer skipped: no SIP participant in the room", extra=log)
        return False
    try:
        response = await ctx.api.sip.transfer_sip_participant(
            api.TransferSIPParticipantRequest(
                room_name=ctx.room.name,
                participant_identity=caller.identity,
                transfer_to=refer_target(request.transfer_number),
                play_dialtone=play_dialtone,
            ),
            timeout=timeout,
        )
    except api.TwirpError as exc:
        # exc.message can carry the Refer-To URI or SIP reason text: log the code only
        logger.warning("cold transfer refused", extra={**log, "code": exc.code,
                                                       "status": exc.status})
        return False
    except (aiohttp.ClientError, TimeoutError) as exc:
        logger.warning("cold transfer failed: LiveKit unreachable or too slow",
                       extra={**log, "error": type(exc).__name__})
        return False
    # livekit-server answers a finished transfer with an empty body (status reads as ONGOING);
    # newer servers report the outcome, and only FAILED means the caller is still ours
    if response.status == api.SIPTransferStatus.STS_TRANSFER_FAILED:
        logger.warning("cold transfer refused", extra={**log, "code": "transfer_failed"})
        return False
    logger.info("cold transfer completed", extra=log)
    return True
