"""How a call ends: a goodbye then a hang-up, the apology when the model is gone, and the
outcome stored once, whichever way the call ended."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from livekit import api
from livekit.agents.voice import SpeechHandle

from agent.assets import APOLOGY_TEXT
from agent.call_recording import close_call_recording
from agent.call_runtime import CallRuntime
from audio.speech import replayed
from state.protocols import STATUS
from tools.context import EndReason

logger = logging.getLogger("intake.call")

APOLOGY_TIMEOUT_S = 15.0
GOODBYE_TIMEOUT_S = 15.0
# after its goodbye the agent waits this long for the caller to hang up, then hangs up itself:
# the goodbye's last syllable is still in flight (~60-100 ms through livekit, Opus and the
# caller's jitter buffer); 2 s of dead air after "goodbye" made callers wonder if we were there
CALLER_HANGS_UP_FIRST_S = 0.25
RELEASE_CALLER_TIMEOUT_S = 2.0


class CallEnding:
    def __init__(self, runtime: CallRuntime) -> None:
        self._rt = runtime
        self._apologised = False
        self._hung_up = False
        self._finishing: asyncio.Future[None] | None = None

    async def end_call(self, reason: EndReason) -> bool:
        """Called from the end_call tool: hang up after the goodbye. A closing the model is
        speaking in the same reply is the goodbye; otherwise the playbook's, pre-rendered in
        the model's voice, plays now. True when either happens: then no model reply follows,
        which would cost a second round trip to the model before the caller hears anything."""
        self._rt.record(STATUS, {"status": "ending", "reason": reason})
        session = self._rt.session
        if session is not None and session.agent_state == "speaking":
            self._rt.spawn(self.hang_up_after_goodbye(str(reason)), "intake-hangup")
            return True
        goodbye = self._say_goodbye()
        if goodbye is None:
            self._rt.spawn(self.hang_up_after_goodbye(str(reason)), "intake-hangup")
            return False
        self._rt.spawn(self._hang_up_after(goodbye, str(reason)), "intake-hangup")
        return True

    def _say_goodbye(self) -> SpeechHandle | None:
        """The playbook's goodbye, pre-rendered; not interruptible, so a caller's "bye" over it
        does not cut it. None when there is no audio for it or no session."""
        session, frames = self._rt.session, self._rt.assets.goodbye_frames
        if session is None or not frames:
            return None

        try:
            return session.say(self._rt.playbook.call_limits.goodbye, audio=replayed(frames),
                               allow_interruptions=False)
        except RuntimeError:
            logger.warning("could not play the goodbye", extra=self._rt.log)
            return None

    async def _hang_up_after(self, goodbye: SpeechHandle, reason: str) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(goodbye.wait_for_playout(), GOODBYE_TIMEOUT_S)
        await self.until_caller_left(CALLER_HANGS_UP_FIRST_S)
        await self.hang_up(reason)

    async def hang_up_after_goodbye(self, reason: str) -> None:
        await self.until_agent_has_spoken(start_within=8.0, finish_within=30.0)
        # as a person would, give the caller a moment to hang up first (a phone caller often
        # hangs up on the goodbye anyway)
        await self.until_caller_left(CALLER_HANGS_UP_FIRST_S)
        await self.hang_up(reason)

    async def until_caller_left(self, within: float) -> None:
        rt = self._rt
        room = rt.ctx.room
        identity = rt.caller_identity
        if not identity or identity not in room.remote_participants:
            return
        left = asyncio.Event()

        def on_left(participant: Any) -> None:
            if participant.identity == identity:
                left.set()

        room.on("participant_disconnected", on_left)
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(left.wait(), within)
        finally:
            room.off("participant_disconnected", on_left)

    async def say_goodbye_and_hang_up(self, reason: str) -> None:
        session = self._rt.session
        if session is None:
            return
        with contextlib.suppress(RuntimeError):
            session.interrupt()
        goodbye = self._say_goodbye()
        if goodbye is not None:
            await self._hang_up_after(goodbye, reason)
            return
        session.generate_reply(instructions=(
            f"Say exactly this and nothing else: {self._rt.playbook.call_limits.goodbye}"))
        await self.hang_up_after_goodbye(reason)

    async def until_agent_has_spoken(self, *, start_within: float,
                                     finish_within: float) -> None:
        """Wait for the line the agent is about to say to start, then to end (bounded)."""
        session = self._rt.session
        if session is None:
            return

        changed = asyncio.Event()

        def on_state(_event: Any) -> None:
            changed.set()

        # woken by the session's state change rather than polled: a poll's interval was dead
        # air on the line before every hang-up
        async def state_is(*states: str) -> None:
            while True:
                changed.clear()
                if session.agent_state in states:
                    return
                await changed.wait()

        session.on("agent_state_changed", on_state)
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(state_is("speaking"), start_within)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(state_is("listening", "idle"), finish_within)
        finally:
            session.off("agent_state_changed", on_state)

    def apologise_and_end(self, reason: str) -> None:
        """The model is gone: the pre-rendered apology (no model needed), then hang up."""
        session = self._rt.session
        if session is None or self._apologised:
            return
        self._apologised = True
        self._rt.record(STATUS, {"status": "apology", "reason": reason})

        try:
            session.interrupt(force=True)
            handle = session.say(APOLOGY_TEXT, audio=replayed(self._rt.assets.apology_frames),
                                 allow_interruptions=False, add_to_chat_ctx=False)
        except RuntimeError:
            logger.warning("could not play the apology", extra=self._rt.log)
            self._rt.spawn(self.hang_up(reason), "intake-hangup")
            return

        async def then_hang_up() -> None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(handle.wait_for_playout(), APOLOGY_TIMEOUT_S)
            await self.hang_up(reason)

        self._rt.spawn(then_hang_up(), "intake-hangup")

    async def hang_up(self, reason: str) -> None:
        self._hung_up = True
        self._rt.record(STATUS, {"status": "hung_up", "reason": reason})
        # the caller is let go first: storing the record takes ~0.4 s, and they should not
        # hold a silent line through it (the same path as a caller who hangs up on "goodbye")
        await self.release_caller()
        # store the record before tearing down: a job that fails while closing (a dead
        # Realtime connection re-raises from aclose) may never run its shutdown callbacks
        await self.finish(reason)
        try:
            await self._rt.ctx.delete_room()
        except Exception as exc:  # the call still ends; a room left up shows in the log
            logger.warning("room not deleted at hang-up", extra={"error": type(exc).__name__})
        self._rt.ctx.shutdown(reason=reason)

    def caller_left(self, close_reason: str) -> None:
        """The session closed without our hang-up: the record says who ended the call and what
        the agent was doing then ("ending" is a caller hanging up on the goodbye)."""
        rt = self._rt
        if self._hung_up or rt.finished:
            return
        session = rt.session
        rt.record(STATUS, {"status": "caller_left", "reason": close_reason,
                           "agent_state": session.agent_state if session is not None else None})

    async def release_caller(self) -> None:
        """Remove the caller from the room: livekit-sip sends the phone a BYE, a WebRTC
        caller is disconnected. Best effort: deleting the room afterwards ends the call too."""
        rt = self._rt
        identity = rt.caller_identity
        if not identity or identity not in rt.ctx.room.remote_participants:
            return
        try:
            await asyncio.wait_for(rt.ctx.api.room.remove_participant(
                api.RoomParticipantIdentity(room=rt.ctx.room.name, identity=identity)),
                RELEASE_CALLER_TIMEOUT_S)
        except Exception as exc:
            logger.warning("caller not released at hang-up; the room delete will end the call",
                           extra={**rt.log, "error": type(exc).__name__})

    def superseded(self) -> None:
        """Another worker holds the call now (this job froze past its lease and was replaced):
        stop talking at once, store nothing, and leave the room without deleting it."""
        rt = self._rt
        if rt.superseded:
            return
        rt.superseded = True
        rt.finished = True  # the replacement stores the outcome
        logger.warning("call taken over by a replacement agent; leaving silently",
                       extra=rt.log)
        rt.spawn(self._leave_silently(), "intake-superseded")

    async def _leave_silently(self) -> None:
        rt = self._rt
        session = rt.session
        if session is not None:
            with contextlib.suppress(Exception):
                session.interrupt(force=True)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(session.aclose(), 5.0)
        if rt.timers is not None:
            with contextlib.suppress(Exception):
                await rt.timers.aclose()
        if rt.recorder is not None:
            with contextlib.suppress(Exception):
                await rt.recorder.aclose()
        if rt.close_recorder is not None:
            with contextlib.suppress(Exception):
                await rt.close_recorder()
        with contextlib.suppress(Exception):
            await rt.ctx.room.disconnect()
        rt.ctx.shutdown(reason="superseded")

    async def delete_room_and_shut_down(self, reason: str) -> None:
        # the caller hung up (or the session failed): nothing may linger
        with contextlib.suppress(Exception):
            await self._rt.ctx.delete_room()
        self._rt.ctx.shutdown(reason=reason)

    async def finish(self, reason: str = "") -> None:
        """Store the outcome and close the recorder, once (hang-up or job shutdown).

        Every caller waits for that one run: the job's shutdown callback arriving while the
        hang-up is still storing must not let the process exit before the outcome is in.
        """
        if self._finishing is None:
            # the task that asked first (a hang-up) goes on after the outcome is stored: it
            # deletes the room, so finishing must not cancel it with the call's other tasks
            self._finishing = asyncio.ensure_future(self._finish(reason, asyncio.current_task()))
        await asyncio.shield(self._finishing)

    async def _finish(self, reason: str, first_caller: asyncio.Task[Any] | None) -> None:
        rt = self._rt
        rt.finished = True
        started = time.monotonic()
        if rt.timers is not None:
            await rt.timers.aclose(keep=first_caller)
        if rt.warm_transfer is not None:
            # the caller left mid-transfer: the person's leg and the consult room go too
            with contextlib.suppress(Exception):
                await asyncio.wait_for(rt.warm_transfer.close(), 5.0)
        # the recording's last seconds and its "closed" event go in before the outcome
        await close_call_recording(rt.call_audio, rt.recorder)
        await rt.flush_records()
        recorder, session = rt.recorder, rt.session
        if recorder is None:
            return
        try:
            outcome: dict[str, Any] = (session.userdata.checklist.outcome()
                                       if session is not None else {})
            await recorder.finish(outcome)
        except Exception:
            logger.exception("could not store the call outcome", extra=rt.log)
        finally:
            leaked = await rt.cancel_tasks(keep=first_caller)
            if leaked:
                logger.warning("call tasks leaked", extra={**rt.log, "tasks": leaked})
            await recorder.aclose()
            if rt.close_recorder is not None:
                await rt.close_recorder()
            logger.info("call finished", extra={
                **rt.log, "reason": reason,
                "finish_ms": round((time.monotonic() - started) * 1000)})
