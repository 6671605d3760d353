"""Cold transfer: hand the caller's SIP leg to a person with a SIP REFER, and leave.

`cold_transfer` backs `SipCallControl.cold_transfer` (sip.livekit_call_control): it finds the
room's SIP participant (the caller) and asks LiveKit to transfer it (`transfer_sip_participant`).
livekit-sip sends REFER to the caller's side (Twilio, or sipp in tests), which dials the transfer
number itself; the call completes when that side reports success (NOTIFY with 200) or hangs up,
and livekit-sip then ends the caller's leg, so the job closes through the usual
participant-disconnect path.

It never raises for an expected failure: no SIP participant (a simulated caller), no number, a
refused REFER or a timeout all return False, logged with a fixed message and no numbers.
"""

from __future__ import annotations

import asyncio
import logging

import aiohttp
from livekit import api, rtc

from sip.call_control import TransferRequest

logger = logging.getLogger("intake.sip.transfer")

# Upper bound on the REFER round trip: accepted, and the far side's dial reported back
DEFAULT_TRANSFER_TIMEOUT_S = 30.0
# livekit-sip v1.8.0 can report a REFER the far end accepted as "transaction failed to complete
# (0 intermediate responses)": its sipResponse gives up as soon as the client transaction's
# done channel is closed, even with the final response already queued (sipgo queues it, then
# on a reliable transport terminates the transaction at once, and Go's select takes either).
# The far end completes the transfer anyway and hangs up our leg, so a caller who leaves
# within this after such an error was transferred. It must outlast livekit-sip's NOTIFY
# handler: with nobody left waiting for the REFER's result, it holds the far end's NOTIFY for
# its notifyAckTimeout (5 s) before answering it, and a far end that hangs up only after that
# answer (sipp in tests) leaves about 5.3 s after the REFER.
CANCELED_REFER_GRACE_S = 8.0
# twirp codes of that report (psrpc Canceled); a declined REFER (4xx-6xx) comes back otherwise
_INDETERMINATE_CODES = frozenset({"canceled", "deadline_exceeded"})


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


async def cold_transfer(room: rtc.Room, lk: api.LiveKitAPI, request: TransferRequest, *,
                        timeout: float = DEFAULT_TRANSFER_TIMEOUT_S,
                        play_dialtone: bool = False) -> bool:
    """REFER the caller to `request.transfer_number`. True once the transfer went through."""
    log = {"category": request.category}
    if not request.transfer_number.strip():
        logger.warning("cold transfer skipped: no transfer number", extra=log)
        return False
    caller = sip_participant(room)
    if caller is None:
        logger.warning("cold transfer skipped: no SIP participant in the room", extra=log)
        return False
    try:
        response = await lk.sip.transfer_sip_participant(
            api.TransferSIPParticipantRequest(
                room_name=room.name,
                participant_identity=caller.identity,
                transfer_to=refer_target(request.transfer_number),
                play_dialtone=play_dialtone,
            ),
            timeout=timeout,
        )
    except api.TwirpError as exc:
        if exc.code in _INDETERMINATE_CODES and await _leaves_within(
                room, caller.identity, CANCELED_REFER_GRACE_S):
            logger.info("cold transfer completed despite livekit-sip's error",
                        extra={**log, "code": exc.code})
            return True
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


async def _leaves_within(room: rtc.Room, identity: str, seconds: float) -> bool:
    """True when `identity` is gone from `room` now or leaves within `seconds`."""
    if identity not in {p.identity for p in room.remote_participants.values()}:
        return True
    left = asyncio.Event()

    def on_left(participant: rtc.RemoteParticipant) -> None:
        if participant.identity == identity:
            left.set()

    room.on("participant_disconnected", on_left)
    try:
        await asyncio.wait_for(left.wait(), seconds)
        return True
    except TimeoutError:
        return False
    finally:
        room.off("participant_disconnected", on_left)
