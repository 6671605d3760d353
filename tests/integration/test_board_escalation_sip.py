"""An escalation rings the live board first; nobody accepting falls back to the phone, over real
SIP: a supervisor is on the board (the console's board stream, in process, keeps their presence
in the stack's Redis), the caller asks for a person, the board rings its (short) ring time
unanswered, and only then does the worker dial the person, a `SippPhone` over the provisioned
outbound trunk and livekit-sip, who answers and is connected with the caller."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from dashboard.auth import SESSION_COOKIE
from realtime_simulator import parse_scenario
from simulated_caller import SimulatedCaller
from testbed.sipp.rtp_sink import RtpSink
from tests.console_support import add_user, sign_in

from .sip_stack import (
    SIP_BOARD_RING_S,
    SIP_WAIT_S,
    SipAgentStack,
    answering_person,
    stored_call,
)
from .test_live_console_http import EventStream, live_console
from .test_warm_transfer import ASKS_FOR_A_PERSON, _events

pytestmark = pytest.mark.integration

SUPERVISOR = "rhea.sup"


async def _board_shows(board: EventStream, call_id: str,
                       predicate: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """The call as the board's next event showing it so describes it."""
    while True:
        _, data, _ = await board.next("board", timeout=SIP_WAIT_S)
        call = next((c for c in data["calls"] if c["call_id"] == call_id), None)
        if call is not None and predicate(call):
            return {**call, "present": data["present"]}


async def test_nobody_on_the_board_accepts_so_the_phone_transfer_rings_and_is_answered(
        sip_agent_stack: SipAgentStack) -> None:
    stack = sip_agent_stack.stack
    assert stack.database_url is not None and stack.redis_url is not None
    await add_user(stack.database_url, SUPERVISOR, "supervisor")
    call_id = f"bsip{uuid.uuid4().hex[:8]}"
    seen: dict[str, Any] = {}

    async with RtpSink() as sink, live_console(stack.database_url, stack.redis_url) as (
            app, client):
        await sign_in(client, SUPERVISOR)
        async with EventStream(app, "/live/events", client.cookies[SESSION_COOKIE]) as board:
            # the open board counts its supervisor as present before any call
            _, first, _ = await board.next("board")
            assert first["present"] == [SUPERVISOR]
            phone = answering_person(sip_agent_stack, sink.port)
            phone.start()

            async def before_line(index: int, caller: SimulatedCaller) -> None:
                if index != 2:
                    return
                # the caller asked for a person: the board rings, and no phone does yet
                seen["ringing"] = await _board_shows(board, call_id,
                                                     lambda c: c["ringing"] is not None)
                seen["invites_while_ringing"] = len(phone.requests_received("INVITE"))
                # nobody accepts: the ring time passes, the call goes to the phone
                seen["transferring"] = await _board_shows(
                    board, call_id, lambda c: c["ringing"] is None
                    and c["stage"] == "transferring")
                seen["heard_person_at"] = await caller.wait_for_agent_audio_after(
                    0.0, timeout=SIP_WAIT_S, track="transfer-relay")

            try:
                result = await stack.place_call(parse_scenario(ASKS_FOR_A_PERSON),
                                                call_id=call_id, before_line=before_line)
                exit_code = await asyncio.to_thread(phone.wait, SIP_WAIT_S)
                assert exit_code == 0, phone.messages()[-3000:]
            finally:
                phone.stop()

    ringing = seen["ringing"]
    assert ringing["stage"] == "ringing" and ringing["ringing"]["reason"] == "human_request"
    assert "caller_asked_for_person" in ringing["escalation_flags"]
    assert ringing["present"] == [SUPERVISOR]
    assert seen["invites_while_ringing"] == 0
    assert "caller_asked_for_person" in seen["transferring"]["escalation_flags"]
    # the person's phone rang (after the board) and was answered, then hung up with the call
    assert phone.answered() and phone.requests_received("BYE")
    assert sink.stats.voiced_packets > 0  # briefed, then connected

    record = await stored_call(stack.database_url, result.call_id)
    supervision = [e.get("action") for e in _events(record, "supervision")]
    assert supervision == ["board_ring", "board_ring_unanswered"], supervision
    board_ring = _events(record, "supervision")[0]
    assert board_ring["ring_seconds"] == SIP_BOARD_RING_S
    stages = [(e.get("stage"), e.get("answered"), e.get("transferred"))
              for e in _events(record, "escalation") if e.get("stage") not in (None, "handoff")]
    # in this order: the board rang unanswered, then the caller held and the person took it
    assert stages == [("board", False, None), ("hold", None, None),
                      ("warm_transfer", None, True)], stages
    assert {"status": "transfer_ended"} in [
        {"status": e.get("status")} for e in _events(record, "status")]
