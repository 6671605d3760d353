"""Warm transfer: brief a person privately, then connect them with the caller.

While the caller holds (a spoken hold message, then a soft chime), the agent joins a private
consultation room, dials the person there over the outbound trunk, waits for their hello, and
tells them who is calling and what the checklist holds. Then the two are connected.

Connecting: LiveKit Cloud can move the person into the caller's room (`move_participant`);
the open-source livekit-server answers that call with "not implemented". There the agent relays
audio both ways between the two rooms (caller -> person, person -> caller) and takes no further
part: the AI session is closed and nothing is transcribed. The call ends when either side hangs
up; the agent then hangs up the other leg and deletes both rooms.

If nobody answers within the playbook's timeout (or the dial fails), the consultation room is
deleted and the caller gets the agent back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import numpy as np
from livekit import api, rtc

from audio.room import frame_rms, play_line, subscribe_audio
from audio.speech import pcm16_to_frames, render_speech_pcm16
from sip.call_control import DialError, MoveFailedError, SipCallControl
from tools.playbook import Playbook

logger = logging.getLogger("intake.warm_transfer")

SAMPLE_RATE = 24000
# a line with caller data in it, as PCM16 at SAMPLE_RATE, never written to disk
RenderLine = Callable[[str], Coroutine[Any, Any, bytes]]
RELAY_SAMPLE_RATE = 48000
# how long the person may take to say hello before the briefing starts anyway
HELLO_WAIT_S = 3.0
# the person's hello is over after this much quiet
HELLO_END_QUIET_S = 0.6
SPEECH_RMS = 300.0
CONSULT_TOKEN_TTL = timedelta(minutes=15)
CALLER_AUDIO_TIMEOUT_S = 5.0
# hold audio is produced at most this far ahead of playout (so it stops promptly, too)
HOLD_AUDIO_LEAD_S = 0.3


@dataclass(frozen=True)
class TransferResult:
    connected: bool
    # "connected", or why not: no_answer, busy, rejected, unreachable, no_trunk, error
    reason: str
    via: str = ""  # "move" or "relay" when connected


def hold_chime(sample_rate: int = SAMPLE_RATE) -> list[rtc.AudioFrame]:
    """Two soft notes then quiet, 2 s in all: looped, it tells the caller the line is alive."""
    def note(freq: float, seconds: float) -> np.ndarray:
        t = np.arange(int(sample_rate * seconds)) / sample_rate
        envelope = np.minimum(1.0, np.minimum(t, seconds - t) / 0.03)  # no clicks
        return np.asarray(1800 * envelope * np.sin(2 * np.pi * freq * t))

    wave = np.concatenate([note(523.25, 0.25), note(659.25, 0.35),
                           np.zeros(int(sample_rate * 1.4))])
    return pcm16_to_frames(wave.astype(np.int16).tobytes(), sample_rate)


async def hold_audio(message: Sequence[rtc.AudioFrame], chime: Sequence[rtc.AudioFrame],
                     stop: asyncio.Event) -> AsyncIterator[rtc.AudioFrame]:
    """The hold message once, then the chime on a loop until `stop` is set.

    Paced to real time: the agent's audio output buffers whatever it is given without waiting,
    so an endless source that never sleeps would starve the event loop.
    """
    started = time.monotonic()
    sent_s = 0.0

    async def paced(frame: rtc.AudioFrame) -> rtc.AudioFrame:
        nonlocal sent_s
        ahead = sent_s - (time.monotonic() - started)
        if ahead > HOLD_AUDIO_LEAD_S:
            await asyncio.sleep(ahead - HOLD_AUDIO_LEAD_S / 2)
        sent_s += frame.samples_per_channel / frame.sample_rate
        return frame

    for frame in message:
        if stop.is_set():
            return
        yield await paced(frame)
    while not stop.is_set():
        for frame in chime:
            if stop.is_set():
                return
            yield await paced(frame)


async def espeak_in_memory(text: str) -> bytes:
    """espeak-ng, not cached: the line names the caller."""
    return await asyncio.to_thread(render_speech_pcm16, text, SAMPLE_RATE, cache=False)


def briefing_text(playbook: Playbook, category: str, fields: dict[str, Any]) -> str:
    """What the person hears before being connected: who, why, and what we know, in order."""
    reason = {"pricing": "has a pricing question", "legal": "has a legal or contract question",
              "urgent": "may have an urgent problem",
              "human_request": "asked to speak with a person"}.get(category,
                                                                  "needs a person")
    parts = [f"Hi, this is the AI assistant for {playbook.business_name}. I have a caller who "
             f"{reason}."]
    known = []
    for name in playbook.fields:
        value = fields.get(name)
        if value in (None, ""):
            continue
        if isinstance(value, dict):
            value = ", ".join(f"{k} {v}" for k, v in value.items() if v not in (None, ""))
        label = name.replace("_", " ")
        if name == "phone" and isinstance(value, str):
            value = " ".join(value.lstrip("+"))  # read digit by digit
        known.append(f"{label}: {value}")
    if known:
        parts.append("Here is what I have. " + ". ".join(known) + ".")
    else:
        parts.append("I don't have any details yet.")
    parts.append("Connecting you now.")
    return " ".join(parts)


class WarmTransfer:
    """One warm transfer of one call. `dial_and_brief`, then `connect`; always `close`."""

    def __init__(self, *, lk: api.LiveKitAPI, sip: SipCallControl, livekit_url: str,
                 api_key: str, api_secret: str, caller_room: rtc.Room, call_id: str,
                 render_briefing: RenderLine | None = None) -> None:
        self._lk = lk
        # the model's voice in production (agent.fixed_lines.private_line_pcm)
        self._render_briefing = render_briefing or espeak_in_memory
        self._sip = sip
        self._url = livekit_url
        self._key = api_key
        self._secret = api_secret
        self._caller_room = caller_room
        self._call_id = call_id
        self._trunk_id = ""
        self.consult_room_name = f"{caller_room.name}-consult"
        self.person_identity = f"person-{call_id}"
        self._consult: rtc.Room | None = None
        self._person_track: rtc.RemoteAudioTrack | None = None
        self._person_track_ready = asyncio.Event()
        self._ended = asyncio.Event()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._log = {"call_id": call_id}

    async def trunk_available(self) -> bool:
        """Whether an outbound trunk is there to dial on (else the caller gets a callback)."""
        try:
            self._trunk_id = await self._sip.outbound_trunk()
        except DialError as exc:
            logger.warning("warm transfer unavailable", extra={**self._log,
                                                               "reason": exc.reason})
            return False
        return True

    # --- consult --------------------------------------------------------------------------
    async def dial_and_brief(self, number: str, briefing: str, *,
                             ring_timeout_s: float) -> TransferResult:
        """Dial the person into the consultation room and brief them once they answered."""
        try:
            if not self._trunk_id and not await self.trunk_available():
                return TransferResult(False, "no_trunk")
            await self._join_consult_room()
            # the briefing names the caller and their number: rendered in memory only
            render = asyncio.create_task(self._render_briefing(briefing))
            try:
                await self._sip.dial(room=self.consult_room_name, number=number,
                           trunk_id=self._trunk_id, identity=self.person_identity,
                           name="Team member", ring_timeout_s=ring_timeout_s,
                           attributes={"intake.role": "transfer_target"})
            except DialError as exc:
                render.cancel()
                logger.info("warm transfer not answered", extra={**self._log,
                                                                 "reason": exc.reason})
                return TransferResult(False, exc.reason)
            logger.info("warm transfer answered", extra=self._log)
            await self._wait_for_hello()
            assert self._consult is not None
            await play_line(self._consult, pcm16_to_frames(await render, SAMPLE_RATE),
                            "agent-briefing")
            return TransferResult(True, "answered")
        except Exception:
            logger.exception("warm transfer failed", extra=self._log)
            return TransferResult(False, "error")

    async def _join_consult_room(self) -> None:
        token = (api.AccessToken(self._key, self._secret)
                 .with_identity(f"agent-consult-{self._call_id}")
                 .with_name("Intake agent")
                 .with_kind("agent")
                 .with_ttl(CONSULT_TOKEN_TTL)
                 .with_grants(api.VideoGrants(room_join=True, room=self.consult_room_name,
                                              can_publish=True, can_subscribe=True,
                                              can_publish_data=False))
                 .to_jwt())
        room = rtc.Room()
        room.on("track_subscribed", self._on_consult_track)
        room.on("participant_disconnected", self._on_consult_left)
        await room.connect(self._url, token, rtc.RoomOptions(auto_subscribe=True))
        self._consult = room

    def _on_consult_track(self, track: rtc.Track, _pub: rtc.RemoteTrackPublication,
                          who: rtc.RemoteParticipant) -> None:
        if who.identity == self.person_identity and isinstance(track, rtc.RemoteAudioTrack):
            self._person_track = track
            self._person_track_ready.set()

    def _on_consult_left(self, who: rtc.RemoteParticipant) -> None:
        if who.identity == self.person_identity:
            self._ended.set()

    async def _wait_for_hello(self) -> None:
        """Let the person finish "hello, this is ..." before briefing them (bounded)."""
        deadline = time.monotonic() + HELLO_WAIT_S
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._person_track_ready.wait(), HELLO_WAIT_S)
        if self._person_track is None:
            return
        stream = rtc.AudioStream.from_track(track=self._person_track, sample_rate=SAMPLE_RATE,
                                            num_channels=1)
        heard_at: float | None = None
        last_loud = 0.0
        try:
            async with asyncio.timeout(max(0.1, deadline - time.monotonic()) + 2.0):
                async for event in stream:
                    now = time.monotonic()
                    if frame_rms(bytes(event.frame.data)) >= SPEECH_RMS:
                        heard_at = heard_at or now
                        last_loud = now
                    elif heard_at is not None and now - last_loud >= HELLO_END_QUIET_S:
                        return
                    if heard_at is None and now >= deadline:
                        return
        except TimeoutError:
            pass
        finally:
            await stream.aclose()

    # --- connect ----------------------------------------------------------------------------
    async def connect(self, caller_identity: str) -> TransferResult:
        """Put caller and person together: move the person, else relay audio both ways."""
        try:
            await self._sip.move_participant(room=self.consult_room_name,
                                             identity=self.person_identity,
                                             destination=self._caller_room.name)
            logger.info("warm transfer connected by move", extra=self._log)
            return TransferResult(True, "connected", via="move")
        except MoveFailedError as exc:
            logger.info("moving the person is not available; relaying audio",
                        extra={**self._log, "code": exc.code})
        await self._start_relay(caller_identity)
        logger.info("warm transfer connected by relay", extra=self._log)
        return TransferResult(True, "connected", via="relay")

    async def _start_relay(self, caller_identity: str) -> None:
        assert self._consult is not None
        caller_track = await self._caller_audio(caller_identity)
        if self._person_track is None:
            await asyncio.wait_for(self._person_track_ready.wait(), HELLO_WAIT_S)
        assert self._person_track is not None
        to_caller = rtc.AudioSource(RELAY_SAMPLE_RATE, 1)
        to_person = rtc.AudioSource(RELAY_SAMPLE_RATE, 1)
        await self._caller_room.local_participant.publish_track(
            rtc.LocalAudioTrack.create_audio_track("transfer-relay", to_caller),
            rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE))
        await self._consult.local_participant.publish_track(
            rtc.LocalAudioTrack.create_audio_track("transfer-relay", to_person),
            rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE))
        self._spawn(self._relay(self._person_track, to_caller), "transfer-relay-to-caller")
        self._spawn(self._relay(caller_track, to_person), "transfer-relay-to-person")

        def caller_left(who: rtc.RemoteParticipant) -> None:
            if who.identity == caller_identity:
                self._ended.set()

        self._caller_room.on("participant_disconnected", caller_left)
        if caller_identity not in self._caller_room.remote_participants:
            self._ended.set()

    async def _caller_audio(self, caller_identity: str) -> rtc.Track:
        caller = self._caller_room.remote_participants.get(caller_identity)
        if caller is None:
            raise LookupError("the caller left before the transfer connected")
        return await subscribe_audio(self._caller_room, caller, CALLER_AUDIO_TIMEOUT_S)

    async def _relay(self, track: rtc.Track, into: rtc.AudioSource) -> None:
        stream = rtc.AudioStream.from_track(track=track, sample_rate=RELAY_SAMPLE_RATE,
                                            num_channels=1)
        try:
            async for event in stream:
                await into.capture_frame(event.frame)
        finally:
            await stream.aclose()
            self._ended.set()

    def _spawn(self, coro: Any, name: str) -> None:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def wait_until_ended(self) -> None:
        """Until the caller or the person hangs up (or the relay breaks)."""
        await self._ended.wait()

    # --- teardown ---------------------------------------------------------------------------
    async def close(self) -> None:
        """Hang up the person's leg (if any) and drop the consult room."""
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        with contextlib.suppress(Exception):
            await self._lk.room.delete_room(api.DeleteRoomRequest(room=self.consult_room_name))
        if self._consult is not None:
            with contextlib.suppress(Exception):
                await self._consult.disconnect()
            self._consult = None
