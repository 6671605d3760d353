"""Handing a call to a person: the guard's reaction to a caller's words, and the routing of
an escalation to a warm transfer, a cold transfer (SIP REFER) or a callback.

A transfer takes the caller away, so it starts only after the agent has spoken the handoff
line; a transfer that fails, or that nobody answers, brings the caller back to the agent with a
callback booked or offered.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from typing import cast, get_args

from livekit.agents import AgentSession

from agent.call_ending import CallEnding
from agent.call_runtime import CallRuntime, EscalationBoard
from agent.fixed_lines import private_line_pcm
from agent.warm_transfer import WarmTransfer, briefing_text, hold_audio
from state.protocols import ESCALATION, STATUS
from tools.booking import CallbackRequest
from tools.context import EscalationReason, EscalationRequest, IntakeUserdata
from tools.guard_reply import GuardResponder, check_caller_turn, record_guard_match

logger = logging.getLogger("intake.handoff")


class HandoffRouter:
    def __init__(self, runtime: CallRuntime, ending: CallEnding) -> None:
        self._rt = runtime
        self._ending = ending
        self._responder: GuardResponder | None = None

    async def react_to_caller_turn(self, transcript: str) -> None:
        """The deterministic guard sees every caller turn, whatever the model makes of it.

        A new escalation is acted on by `GuardResponder`: the pre-rendered line, the model's
        own reply and tool calls left to finish, then the handoff (`handoff_ready`) or the
        model steered back to the intake.
        """
        session = self._rt.session
        if session is None:
            return
        ud = session.userdata
        already = set(ud.escalated)
        match = check_caller_turn(ud, transcript)
        if match is None or match.category in already:
            return
        if self._rt.supervised_by is not None:
            await record_guard_match(ud, match)  # a supervisor on the line answers the caller
            return
        if self._responder is None:
            self._responder = GuardResponder(session, self._rt.assets.escalation_frames)
        # the line first, then the store: the caller hears it before the model's own reply
        started = self._responder.start_line(match)
        await record_guard_match(ud, match)
        await self._responder.act(match, started)

    async def on_escalate(self, request: EscalationRequest) -> bool:
        """Hand the call to a person. Returns whether a transfer is under way.

        A cold transfer takes the caller away at once, so it starts only after the agent has
        spoken the handoff line; if it then fails, the caller is promised a callback.
        """
        self._rt.record(ESCALATION, {"category": request.category, "action": request.action,
                                  "source": request.source, "stage": "handoff"})
        if request.action != "transfer" or self._rt.supervised_by is not None:
            return False  # (a supervisor who took the call over is the person already)
        escalated_at = time.monotonic()
        board = self._rt.board
        if board is not None and await board.supervisors_waiting():
            self._rt.spawn(self._ring_board_then_phone(board, request, escalated_at),
                           "intake-board-ring")
            return True
        return await self._route_transfer(request, escalated_at)

    async def _ring_board_then_phone(self, board: EscalationBoard, request: EscalationRequest,
                                     escalated_at: float) -> None:
        """The board rings first; nobody accepting in time falls back to the phone transfer."""
        taken_by = await board.ring(request)
        self._rt.record(ESCALATION, {"category": request.category, "stage": "board",
                                     "answered": taken_by is not None})
        if taken_by is not None or self._rt.finished:
            return
        if not await self._route_transfer(request, escalated_at):
            session = self._rt.session
            if session is not None:
                await self._offer_callback(session, request)

    async def _route_transfer(self, request: EscalationRequest, escalated_at: float) -> bool:
        if self._rt.assets.playbook.transfer.mode == "warm":
            warm = self._new_warm_transfer()
            if await warm.trunk_available():
                self._rt.warm_transfer = warm
                self._rt.spawn(self._transfer_warm(warm, request, escalated_at),
                            "intake-warm-transfer")
                return True
            # no outbound trunk to dial on: a phone caller can still be handed over cold
        if not self._rt.caller_is_sip:
            return False
        self._rt.spawn(self._transfer_after_handoff_line(request, escalated_at),
                       "intake-transfer")
        return True

    def _new_warm_transfer(self) -> WarmTransfer:
        settings = self._rt.assets.settings
        return WarmTransfer(
            lk=self._rt.ctx.api, sip=self._rt.sip, livekit_url=settings.livekit_url,
            api_key=settings.livekit_api_key, api_secret=settings.livekit_api_secret,
            caller_room=self._rt.ctx.room, call_id=self._rt.call_id,
            render_briefing=functools.partial(private_line_pcm, settings))

    async def _transfer_warm(self, warm: WarmTransfer, request: EscalationRequest,
                             escalated_at: float) -> None:
        """Hold, brief the person, connect them; nobody answers: back to the caller."""
        session = self._rt.session
        if session is None:
            return
        options = self._rt.assets.playbook.transfer
        await self._until_handoff_may_go_on(request, escalated_at)
        self._rt.on_hold = True
        self._rt.record(ESCALATION, {"category": request.category, "stage": "hold"})
        session.input.set_audio_enabled(False)  # the model must not hear or answer the hold
        stop_hold = asyncio.Event()
        hold = None
        try:
            with contextlib.suppress(RuntimeError):
                session.interrupt()
            hold = session.say(options.hold_message,
                               audio=hold_audio(self._rt.assets.hold_message_frames,
                                                self._rt.assets.hold_chime_frames, stop_hold),
                               allow_interruptions=False, add_to_chat_ctx=False)
        except RuntimeError:
            logger.warning("could not play hold audio", extra=self._rt.log)
        fields = session.userdata.checklist.outcome()["fields"]
        result = await warm.dial_and_brief(
            request.transfer_number, briefing_text(self._rt.assets.playbook, request.category,
                                                   fields),
            ring_timeout_s=float(options.answer_timeout_seconds))
        stop_hold.set()
        if hold is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(hold.wait_for_playout(), 5.0)
        if not result.connected:
            await warm.close()
            self._rt.warm_transfer = None
            self._rt.record(ESCALATION, {"category": request.category, "stage": "warm_transfer",
                                      "transferred": False, "reason": result.reason})
            self._rt.on_hold = False
            session.input.set_audio_enabled(True)
            await self._offer_callback(session, request)
            return
        # the AI leaves the call before the two are connected: nothing it says may overlap
        self._rt.handed_over = True
        if self._rt.timers is not None:
            await self._rt.timers.aclose()
        with contextlib.suppress(Exception):
            await session.aclose()
        try:
            connected = await warm.connect(self._rt.caller_identity)
            self._rt.record(ESCALATION, {"category": request.category, "stage": "warm_transfer",
                                      "transferred": True, "via": connected.via})
            await warm.wait_until_ended()
            self._rt.record(STATUS, {"status": "transfer_ended"})
        except Exception:
            logger.exception("warm transfer could not connect", extra=self._rt.log)
            self._rt.record(ESCALATION, {"category": request.category, "stage": "warm_transfer",
                                      "transferred": False, "reason": "connect_failed"})
        finally:
            await warm.close()
            self._rt.warm_transfer = None
            await self._ending.hang_up("transferred")

    async def recover_lost_transfer(self, category: str) -> None:
        """A replacement agent found a warm transfer its predecessor left unfinished: the
        person's leg (ringing, briefed or relayed) is hung up with the consult room, and the
        caller, who has the agent again, gets a callback instead."""
        # a transfer object that never dialed: its close drops the consult room, whoever's
        await self._new_warm_transfer().close()
        self._rt.record(ESCALATION, {"category": category, "stage": "warm_transfer",
                                     "transferred": False, "reason": "agent_restarted"})
        session = self._rt.session
        if session is None:
            return
        playbook = self._rt.assets.playbook
        reason = cast(EscalationReason,
                      category if category in get_args(EscalationReason) else "other")
        trigger = playbook.escalation.get(reason) if reason != "other" else None
        await self._offer_callback(session, EscalationRequest(
            category=reason, action="transfer", transfer_number=playbook.transfer_number,
            source="guard", say=trigger.say if trigger else ""))

    async def _offer_callback(self, session: AgentSession[IntakeUserdata],
                              request: EscalationRequest) -> None:
        """Nobody answered the transfer: book a callback now if we can reach the caller."""
        ud = session.userdata
        fields = ud.checklist.outcome()["fields"]
        name, phone = fields.get("name"), fields.get("phone")
        say = self._rt.assets.playbook.transfer.no_answer_say
        if isinstance(name, str) and isinstance(phone, str) and name and phone:
            result = await ud.booking.request_callback(CallbackRequest(
                call_id=self._rt.call_id, time_window="any", name=name, phone=phone,
                topic=f"asked for a person ({request.category})"))
            if result.confirmed and result.reference:
                ud.checklist.record_booking("callback", result.reference, "any")
                await ud.checklist.persist_extras()
                self._rt.record(STATUS, {"status": "callback_booked", "reason": "transfer",
                                      "reference": result.reference})
                instructions = (f"Say this: {say} Then continue with any details still "
                                "missing.")
            else:
                instructions = ("Apologise: nobody from the team could pick up, and the "
                                "callback could not be booked automatically; the team has "
                                "their details and will reach out. Then continue with any "
                                "details still missing.")
        else:
            instructions = ("Apologise: nobody from the team could pick up right now. Offer a "
                            "callback: ask for their name and best number if you don't have "
                            "them yet, then use request_callback.")
        session.generate_reply(instructions=instructions)

    async def _transfer_after_handoff_line(self, request: EscalationRequest,
                                           escalated_at: float) -> None:
        session = self._rt.session
        await self._until_handoff_may_go_on(request, escalated_at)
        try:
            transferred = await self._rt.sip.cold_transfer(self._rt.ctx.room, request)
        except Exception:
            logger.exception("transfer failed", extra=self._rt.log)
            transferred = False
        self._rt.record(ESCALATION, {"category": request.category, "stage": "transfer",
                                  "transferred": transferred})
        if not transferred and session is not None:
            session.generate_reply(instructions=(
                "The transfer did not go through. Apologise briefly, tell the caller a person "
                "from the team will call them back soon, and continue with the missing details."))

    async def _until_handoff_may_go_on(self, request: EscalationRequest, since: float,
                                       within: float = 30.0) -> None:
        """The guard's escalations: until its responder says so (line said, the turn's tool
        calls run); others: until the handoff line was spoken."""
        if request.handoff_ready is None:
            await self._until_handoff_line_spoken(since)
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(request.handoff_ready.wait(), within)

    async def _until_handoff_line_spoken(self, since: float, within: float = 25.0) -> None:
        """Wait (bounded) until a line the agent started after `since` was said to the end.

        A reply cut off on the way (the guard interrupting the model's own answer to the same
        turn) is not the handoff line; the next one is.
        """
        checked = 0
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(within):
                while True:
                    fresh = [handle for at, handle in self._rt.speeches if at >= since]
                    if checked == len(fresh):
                        await asyncio.sleep(0.05)
                        continue
                    handle = fresh[checked]
                    checked += 1
                    await handle.wait_for_playout()
                    if not handle.interrupted:
                        return

