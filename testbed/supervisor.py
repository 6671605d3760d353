"""A supervisor in a call room for tests and benchmarks: speaks under a take-over token, and an
ear on another participant's room that notes when the supervisor's audio is heard there."""

from __future__ import annotations

import asyncio
import contextlib
import time

from livekit import rtc

from audio.room import frame_rms, play_line
from audio.speech import pcm16_to_frames, render_speech_pcm16

SAMPLE_RATE = 48000
SPEECH_RMS = 300.0


class SupervisorVoice:
    """Joins the room with a take-over token and says lines on a microphone track."""

    def __init__(self, url: str, token: str) -> None:
        self._url = url
        self._token = token
        self.room = rtc.Room()

    async def __aenter__(self) -> SupervisorVoice:
        await self.room.connect(self._url, self._token, rtc.RoomOptions(auto_subscribe=False))
        return self

    async def __aexit__(self, *exc: object) -> None:
        with contextlib.suppress(Exception):
            await self.room.disconnect()

    async def say(self, text: str) -> None:
        frames = pcm16_to_frames(render_speech_pcm16(text, SAMPLE_RATE, cache=True), SAMPLE_RATE)
        await play_line(self.room, frames, "supervisor-microphone")


class HeardFrom:
    """Counts loud audio frames `room` receives from participants whose identity starts with
    `prefix` (attach it to the simulated caller's room: what the caller hears)."""

    def __init__(self, room: rtc.Room, prefix: str) -> None:
        self._room = room
        self._prefix = prefix
        self.loud_frames = 0
        self.first_heard_at: float | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        room.on("track_subscribed", self._on_track)

    def _on_track(self, track: rtc.Track, _pub: rtc.RemoteTrackPublication,
                  participant: rtc.RemoteParticipant) -> None:
        if track.kind == rtc.TrackKind.KIND_AUDIO and participant.identity.startswith(
                self._prefix):
            task = asyncio.create_task(self._listen(track), name="heard-from-listen")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _listen(self, track: rtc.Track) -> None:
        stream = rtc.AudioStream.from_track(track=track, sample_rate=SAMPLE_RATE, num_channels=1)
        try:
            async for event in stream:
                if frame_rms(bytes(event.frame.data)) >= SPEECH_RMS:
                    self.loud_frames += 1
                    if self.first_heard_at is None:
                        self.first_heard_at = time.monotonic()
        finally:
            await stream.aclose()

    async def aclose(self) -> None:
        self._room.off("track_subscribed", self._on_track)
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
