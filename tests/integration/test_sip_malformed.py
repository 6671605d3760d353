"""Hostile or broken INVITEs at livekit-sip: each is refused with a SIP error, and no room (so
no agent job) is ever made for it.

The INVITEs are sent from a plain UDP socket, not sipp: sipp's scenarios are for well-formed
calls, and these are meant not to be.
"""

from __future__ import annotations

import asyncio
import re
import socket
import uuid

import pytest
from livekit import api

from .sip_stack import SIP_AGENT_CALLED, SipAgentStack, new_caller_number

pytestmark = pytest.mark.integration

# how long livekit-sip gets to give a final answer; an upper bound on waiting
FINAL_WITHIN_S = 15.0
_STATUS = re.compile(rb"^SIP/2\.0 (\d{3})", re.M)

GOOD_SDP = ("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=x\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
            "m=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n")
BROKEN_SDP = "v=0\r\nthis is not a session description\r\nm=audio banana\r\n"
# G.729 only: a codec livekit-sip does not take
NO_CODEC_WE_TAKE = ("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=x\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
                    "m=audio 40000 RTP/AVP 18\r\na=rtpmap:18 G729/8000\r\n")


def _invite(called: str, caller: str, local_port: int, body: str) -> tuple[bytes, str]:
    call_id = f"{uuid.uuid4().hex}@127.0.0.1"
    branch = f"z9hG4bK-{uuid.uuid4().hex[:12]}"
    head = (
        f"INVITE sip:{called}@127.0.0.1 SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 127.0.0.1:{local_port};branch={branch}\r\n"
        f"From: <sip:{caller}@127.0.0.1:{local_port}>;tag={uuid.uuid4().hex[:8]}\r\n"
        f"To: <sip:{called}@127.0.0.1>\r\n"
        f"Call-ID: {call_id}\r\nCSeq: 1 INVITE\r\n"
        f"Contact: <sip:{caller}@127.0.0.1:{local_port}>\r\nMax-Forwards: 70\r\n"
        f"Content-Type: application/sdp\r\nContent-Length: {len(body.encode())}\r\n\r\n")
    return (head + body).encode(), call_id


async def _final_status(port: int, called: str, caller: str, body: str) -> int | None:
    """The final response's status code, or None when none came in time."""
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.setblocking(False)
    try:
        message, _ = _invite(called, caller, sock.getsockname()[1], body)
        await loop.sock_sendto(sock, message, ("127.0.0.1", port))
        try:
            async with asyncio.timeout(FINAL_WITHIN_S):
                while True:
                    data = await loop.sock_recv(sock, 65535)
                    match = _STATUS.search(data)
                    if match and int(match.group(1)) >= 200:
                        return int(match.group(1))
        except TimeoutError:
            return None
    finally:
        sock.close()


async def _rooms_with_caller(ctx: SipAgentStack, caller: str) -> list[str]:
    async with ctx.stack.api() as lk:
        found = []
        for room in (await lk.room.list_rooms(api.ListRoomsRequest())).rooms:
            people = await lk.room.list_participants(api.ListParticipantsRequest(room=room.name))
            if any(p.attributes.get("sip.phoneNumber") == caller for p in people.participants):
                found.append(room.name)
        return found


@pytest.mark.parametrize(("called", "body"), [
    (SIP_AGENT_CALLED, BROKEN_SDP),
    (SIP_AGENT_CALLED, NO_CODEC_WE_TAKE),
], ids=["broken-sdp", "no-codec-we-take"])
async def test_a_bad_invite_is_refused_and_starts_no_job(
        sip_agent_stack: SipAgentStack, called: str, body: str) -> None:
    caller = new_caller_number()
    status = await _final_status(sip_agent_stack.sip.sip_port, called, caller, body)
    assert status is not None and 400 <= status < 700, status
    # a room would have been the job's dispatch: there is none, now or a moment later
    assert await _rooms_with_caller(sip_agent_stack, caller) == []
    await asyncio.sleep(2)
    assert await _rooms_with_caller(sip_agent_stack, caller) == []


async def test_a_call_to_a_number_we_do_not_have_is_never_answered(
        sip_agent_stack: SipAgentStack) -> None:
    # livekit-sip rings, decides 486 (its log says so) and sends no final answer: a scanner
    # learns nothing, and the INVITE ends at the caller's own timeout. Never a 2xx, never a room.
    caller = new_caller_number()
    status = await _final_status(sip_agent_stack.sip.sip_port, "+15550100999", caller, GOOD_SDP)
    assert status is None or 400 <= status < 700, status
    assert await _rooms_with_caller(sip_agent_stack, caller) == []
