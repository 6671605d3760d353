"""An outbound call's first seconds: dial the lead into the job's own room, then decide who
answered before saying anything.

`intake call NUMBER` dispatches our agent with metadata `{"call_direction": "outbound",
"call_id", "dial_to"}`. The job dials over the outbound trunk and listens to the callee
(`agent.answer_screening`):

- a person (or silence): the normal intake session starts, opening with the pre-rendered
  outbound opening instead of the inbound greeting (`CallSession.run` takes over);
- an answering machine: once its greeting (and beep) is over, the pre-rendered voicemail
  message plays (not through the model), the outcome is stored and we hang up;
- nobody answers, busy, rejected: the reason is recorded and the job ends.

The number is in the job metadata only; it is stored as the call's number and never logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from livekit import rtc
from livekit.agents import JobContext

from agent.answer_screening import (
    SCREENING_SAMPLE_RATE,
    AnsweredBy,
    AnswerScreener,
    ScreeningRules,
    audio_frames,
)
from agent.assets import PrewarmedAssets, prerendered_frames
from agent.calling_hours import check_calling_hours
from audio.room import play_line, subscribe_audio
from sip.call_control import DialError
from state.protocols import STATUS, CallInfo
from tools.normalize import spoken_phone
from tools.playbook import Playbook

logger = logging.getLogger("intake.outbound")

CALL_DIRECTION = "call_direction"
OUTBOUND = "outbound"
DIAL_TO = "dial_to"
# a dispatch that waited past this (ISO 8601) is not dialed: calling hours were checked then
DIAL_BY = "dial_by"
RING_TIMEOUT = "ring_timeout_s"
ROOM_PREFIX = "outbound-"
LEAD_IDENTITY = "lead"
# the answered leg's media and room join, after `dial` returns
LEAD_JOIN_TIMEOUT_S = 10.0
# the screening's own bounds are in audio time; this bounds it in wall time too
SCREENING_WALL_MARGIN_S = 10.0

_MENTIONS_AI = re.compile(r"\b(AI|artificial intelligence|automated|virtual assistant)\b",
                          re.IGNORECASE)


def is_outbound_call(metadata: Mapping[str, Any]) -> bool:
    """A first dispatch of an outbound call (a resumed call's lead is already in the room)."""
    return (metadata.get(CALL_DIRECTION) == OUTBOUND and isinstance(metadata.get(DIAL_TO), str)
            and not metadata.get("resume"))


def record_metadata(metadata: Mapping[str, Any]) -> dict[str, Any]:
    """The job metadata as stored with the call: the number has its own column."""
    return {key: value for key, value in metadata.items() if key != DIAL_TO}


def outbound_opening_text(playbook: Playbook) -> str:
    """Who is calling, that it is an AI, why; the recording notice; then the first question."""
    settings = playbook.outbound
    opening = settings.opening or (
        f"Hi, this is {playbook.business_name} calling you back about your request.")
    parts = [opening]
    if not _MENTIONS_AI.search(opening):
        parts.append(playbook.ai_disclosure)
    consent = playbook.recording_consent
    if consent.required and consent.text:
        parts.append(consent.text)
    parts.append(next(iter(playbook.fields.values())).ask)
    return " ".join(parts)


def voicemail_text(playbook: Playbook) -> str:
    """The business and a number to call back; nothing about the lead."""
    settings = playbook.outbound
    if settings.voicemail_message:
        return settings.voicemail_message
    number = settings.callback_number or playbook.transfer_number
    return (f"Hi, this is an automated message from {playbook.business_name}, returning your "
            f"call. Please call us back at {spoken_phone(number, playbook.phone_region)}. "
            "Thank you, goodbye.")


def ring_timeout_s(playbook: Playbook, metadata: Mapping[str, Any]) -> float:
    override = metadata.get(RING_TIMEOUT)
    if isinstance(override, int | float) and 5 <= override <= 120:
        return float(override)
    return float(playbook.outbound.ring_timeout_seconds)


def dispatched_too_late(metadata: Mapping[str, Any], now: datetime) -> bool:
    raw = metadata.get(DIAL_BY)
    if not isinstance(raw, str):
        return False
    try:
        deadline = datetime.fromisoformat(raw)
    except ValueError:
        return True  # unreadable: do not risk calling outside the hours checked
    if deadline.tzinfo is None:
        deadline = deadline.replace(tzinfo=UTC)
    return now > deadline


@dataclass
class PersonOnTheLine:
    """The lead answered and the intake session should start with `opening_*`."""

    participant: rtc.RemoteParticipant
    number: str
    opening_text: str
    opening_frames: list[rtc.AudioFrame]
    # status events of the dialing, for the call's recorder once it is open
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


class OutboundDialer:
    """One outbound job's dialing and screening; see the module docstring."""

    def __init__(self, ctx: JobContext, assets: PrewarmedAssets, call_id: str,
                 metadata: Mapping[str, Any], rules: ScreeningRules | None = None) -> None:
        self._ctx = ctx
        self._assets = assets
        self._call_id = call_id
        self._metadata = dict(metadata)
        self._number = str(metadata[DIAL_TO])
        self._rules = rules or ScreeningRules()
        self._events: list[tuple[str, dict[str, Any]]] = []

    async def run(self) -> PersonOnTheLine | None:
        """Dial and screen. None: the call is over (not reached, or a voicemail was left) and
        its record is stored; the job is shutting down."""
        playbook = self._assets.playbook
        if dispatched_too_late(self._metadata, datetime.now(UTC)):
            await self._end("not_dialed", "dispatched_too_late",
                            "Not dialed: the dispatch came too late; call again in calling hours.")
            return None
        opening_text = outbound_opening_text(playbook)
        # loaded while the phone rings: both are ready the moment someone answers
        opening = asyncio.ensure_future(asyncio.to_thread(prerendered_frames, opening_text,
                                                        self._assets.settings))
        voicemail = asyncio.ensure_future(
            asyncio.to_thread(prerendered_frames, voicemail_text(playbook),
                              self._assets.settings))
        try:
            answered = await self._dial(playbook)
            if not answered:
                return None
            participant = await asyncio.wait_for(
                self._ctx.wait_for_participant(identity=LEAD_IDENTITY), LEAD_JOIN_TIMEOUT_S)
            answered_by, screener = await self._screen(participant)
            try:
                self._status("answered", answered_by=answered_by)
                logger.info("outbound call answered", extra={"call_id": self._call_id,
                                                             "answered_by": answered_by})
                if answered_by in ("person", "silence"):
                    return PersonOnTheLine(participant=participant, number=self._number,
                                           opening_text=opening_text,
                                           opening_frames=await opening,
                                           events=self._events)
                if answered_by == "hung_up":
                    await self._end("hung_up", "callee_hung_up",
                                    "The lead hung up on answering; try again later.")
                    return None
                await self._leave_voicemail(screener, await voicemail)
                return None
            finally:
                await screener.aclose()
        except TimeoutError:
            await self._end("dial_failed", "lead_never_joined",
                            "Not reached: the answered call never joined; try again later.")
            return None
        except Exception:
            # a record of the attempt is still owed to the operator
            logger.exception("outbound call failed", extra={"call_id": self._call_id})
            await self._end("failed", "internal_error",
                            "The call failed on our side; try again.")
            return None
        finally:
            for task in (opening, voicemail):
                if not task.done():
                    task.cancel()

    async def _dial(self, playbook: Playbook) -> bool:
        sip = self._assets.sip_control(self._ctx.api)
        ring_s = ring_timeout_s(playbook, self._metadata)
        self._status("dialing", ring_timeout_s=ring_s)
        try:
            trunk = await sip.outbound_trunk()
            # the dispatch may have waited (a busy worker, a slow start): the window is the
            # one at dialing time, not the one `intake call` saw
            closed = check_calling_hours(playbook, self._number, datetime.now(UTC))
            if closed is not None:
                logger.info("outbound call not dialed", extra={"call_id": self._call_id,
                                                               "reason": closed.reason})
                await self._end("not_dialed", f"outside_{closed.reason}",
                                closed.message(playbook).replace("not calling", "Not dialed"))
                return False
            await sip.dial(room=self._ctx.room.name, number=self._number, trunk_id=trunk,
                           identity=LEAD_IDENTITY, ring_timeout_s=ring_s)
        except DialError as exc:
            logger.info("outbound call not answered", extra={"call_id": self._call_id,
                                                             "reason": exc.reason})
            await self._end("dial_failed", exc.reason,
                            f"Not reached ({exc.reason.replace('_', ' ')}); try again within "
                            "calling hours.")
            return False
        return True

    async def _screen(self, participant: rtc.RemoteParticipant,
                      ) -> tuple[AnsweredBy, AnswerScreener]:
        track = await subscribe_audio(self._ctx.room, participant, LEAD_JOIN_TIMEOUT_S)
        stream = rtc.AudioStream.from_track(track=track, sample_rate=SCREENING_SAMPLE_RATE,
                                            num_channels=1)
        screener = AnswerScreener(self._assets.vad, audio_frames(stream), self._rules)
        try:
            async with asyncio.timeout(self._rules.max_listen_s + SCREENING_WALL_MARGIN_S):
                answered_by = await screener.answered_by()
        except TimeoutError:
            answered_by = "silence"  # no audio arrived at all: talk first, as with silence
        except BaseException:
            await screener.aclose()
            raise
        return answered_by, screener

    async def _leave_voicemail(self, screener: AnswerScreener,
                               frames: Sequence[rtc.AudioFrame]) -> None:
        try:
            async with asyncio.timeout(self._rules.max_greeting_s + SCREENING_WALL_MARGIN_S):
                line_alive = await screener.greeting_over()
        except TimeoutError:
            line_alive = True  # the greeting never ended cleanly: leave the message anyway
        if not line_alive:
            await self._end("hung_up", "machine_hung_up",
                            "Reached an answering machine that hung up; try again later.")
            return
        await play_line(self._ctx.room, frames, "voicemail")
        self._status("voicemail_left")
        await self._end("voicemail_left", "voicemail",
                        "Voicemail left; call again later or wait for their call back.")

    def _status(self, status: str, **fields: Any) -> None:
        self._events.append((STATUS, {"status": status, **fields}))

    async def _end(self, status: str, reason: str, next_action: str) -> None:
        """Store the record of a call that never became a conversation, then hang up."""
        if status != "voicemail_left":
            self._status(status, reason=reason)
        try:
            await self._store(next_action)
        except Exception:
            logger.exception("could not store the outbound call's record",
                             extra={"call_id": self._call_id})
        with contextlib.suppress(Exception):
            await self._ctx.delete_room()  # the lead's leg, if any, gets its BYE
        logger.info("outbound call ended", extra={"call_id": self._call_id, "reason": reason})
        self._ctx.shutdown(reason=f"outbound_{reason}")

    async def _store(self, next_action: str) -> None:
        settings = self._assets.settings
        recorder, close_client = await self._assets.open_recorder()
        try:
            await recorder.open(CallInfo(
                call_id=self._call_id, room=self._ctx.room.name, worker_id=self._ctx.worker_id,
                caller_number=self._number, playbook=str(settings.playbook_path),
                metadata=record_metadata(self._metadata)))
            for kind, payload in self._events:
                await recorder.record(kind, payload)
            await recorder.finish({
                "fields": {}, "missing_fields": self._assets.playbook.required_fields(),
                "escalation_reason": None, "recommended_next_action": next_action})
        finally:
            await recorder.aclose()
            await close_client()


__all__ = ["CALL_DIRECTION", "DIAL_BY", "DIAL_TO", "LEAD_IDENTITY", "OUTBOUND", "RING_TIMEOUT",
           "ROOM_PREFIX", "OutboundDialer", "PersonOnTheLine", "is_outbound_call",
           "outbound_opening_text", "record_metadata", "voicemail_text"]
