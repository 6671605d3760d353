"""The caller's keypad on a SIP call: 0 asks for a person, digits then # answer a question."""

from __future__ import annotations

import asyncio
import contextlib

from livekit import rtc
from livekit.agents import AgentSession

from agent.call_runtime import CallRuntime
from sip.dtmf import DigitsSubmitted, DtmfCollector, HumanRequested
from state.protocols import STATUS
from tools.context import IntakeUserdata
from tools.guard_reply import escalate


class DtmfInput:
    def __init__(self, runtime: CallRuntime) -> None:
        self._rt = runtime
        self._collector = DtmfCollector()

    def attach(self, room: rtc.Room) -> None:
        room.on("sip_dtmf_received", self.on_dtmf)

    def on_dtmf(self, ev: rtc.SipDTMF) -> None:
        session = self._rt.session
        if session is None or ev.participant is None:
            return
        if ev.participant.identity != self._rt.caller_identity:
            return
        action = self._collector.press(ev.digit)
        if isinstance(action, HumanRequested):
            self._rt.record(STATUS, {"status": "dtmf_human_request"})
            self._rt.spawn(self._human_requested(session), "intake-dtmf-human")
        elif isinstance(action, DigitsSubmitted):
            session.generate_reply(instructions=(
                f"The caller typed {' '.join(action.digits)} on the keypad for the detail you "
                "just asked for. Record it with record_field, then read it back."))

    async def _human_requested(self, session: AgentSession[IntakeUserdata]) -> None:
        # silence the agent before escalating: a transfer starts once the agent has spoken,
        # and would take the line cut off here (0 pressed over the greeting) for the handoff
        with contextlib.suppress(RuntimeError, TimeoutError):
            await asyncio.wait_for(session.interrupt(), 5.0)
        say = await escalate(session.userdata, "human_request", source="guard",
                             detail="caller pressed 0")
        session.generate_reply(instructions=f"Say this: {say}")
