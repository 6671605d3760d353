"""The agent's audio output, paused at once and resumed where it paused.

livekit-agents' room output keeps up to 200 ms of agent audio queued in its `rtc.AudioSource`.
Its `pause()` only stops feeding the queue: what is queued plays on, and is dropped (never
played) when its forwarder next looks, so a resumed line skips up to 200 ms of words.

`RewindingAudioOutput` clears the queue in `pause()` itself, so the caller stops hearing the
agent as soon as the barge-in is seen, and keeps a copy of what it cleared: `resume()` queues
that copy first, so a backchannel leaves no hole in the line. Installed for RoomIO by
`install()`; its playback position (what the recorded turn was heard up to) stays exact.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections import deque
from typing import Any

import numpy as np
from livekit import rtc
from livekit.agents.voice.room_io import _output as room_output
from livekit.agents.voice.room_io import room_io

logger = logging.getLogger("intake.playout")
FIRST_FRAME_MARK = "first frame of a line queued"


def stage_marks_enabled() -> bool:
    """`intake bench latency` sets INTAKE_STAGE_MARKS=1 and reads the worker's stage marks."""
    return os.environ.get("INTAKE_STAGE_MARKS") == "1"


# the stage marks' log level (INFO only when asked)
STAGE_MARK_LEVEL = logging.INFO if stage_marks_enabled() else logging.DEBUG

# audio captured into the source, kept to rebuild what a pause cleared (the queue holds 200 ms)
HISTORY_S = 0.5


class CapturedAudio:
    """The most recent audio captured into a source, to cut its unplayed tail back out."""

    def __init__(self, keep_s: float = HISTORY_S) -> None:
        self._keep_s = keep_s
        self._frames: deque[rtc.AudioFrame] = deque()
        self._duration = 0.0

    def add(self, frame: rtc.AudioFrame) -> None:
        self._frames.append(frame)
        self._duration += frame.duration
        while self._frames and self._duration - self._frames[0].duration >= self._keep_s:
            self._duration -= self._frames.popleft().duration

    def tail(self, seconds: float) -> rtc.AudioFrame | None:
        """The last `seconds` of captured audio as one frame (None if there is none)."""
        if seconds <= 0 or not self._frames:
            return None
        first = self._frames[0]
        rate, channels = first.sample_rate, first.num_channels
        samples = np.concatenate([np.frombuffer(f.data, dtype=np.int16) for f in self._frames])
        wanted = min(round(seconds * rate) * channels, len(samples))
        if wanted < channels:
            return None
        data = samples[len(samples) - wanted:]
        return rtc.AudioFrame(data.tobytes(), rate, channels, wanted // channels)


class RecordingAudioSource(rtc.AudioSource):
    """An `rtc.AudioSource` that remembers what was captured into it."""

    def __init__(self, sample_rate: int, num_channels: int, queue_size_ms: int) -> None:
        super().__init__(sample_rate, num_channels, queue_size_ms=queue_size_ms)
        self.captured = CapturedAudio()

    async def capture_frame(self, frame: rtc.AudioFrame) -> None:
        self.captured.add(frame)
        await super().capture_frame(frame)


class RewindingAudioOutput(room_output._ParticipantAudioOutput):
    """RoomIO's audio output with a pause that stops the audio now and a resume that loses
    nothing (see the module docstring)."""

    def __init__(self, room: rtc.Room, *, sample_rate: int, num_channels: int,
                 **kwargs: Any) -> None:
        super().__init__(room, sample_rate=sample_rate, num_channels=num_channels, **kwargs)
        # same queue as livekit's, only remembering what went in (the track is not made yet)
        self._audio_source = RecordingAudioSource(sample_rate, num_channels, 200)
        self._cleared: rtc.AudioFrame | None = None
        self._requeue: asyncio.Task[None] | None = None

    async def capture_frame(self, frame: rtc.AudioFrame) -> None:
        if not self._pushed_duration:
            logger.log(STAGE_MARK_LEVEL, FIRST_FRAME_MARK, extra={"at": time.time()})
        await super().capture_frame(frame)

    def pause(self) -> None:
        super().pause()
        if self._requeue is not None:
            self._requeue.cancel()
            self._requeue = None
        source = self._audio_source
        assert isinstance(source, RecordingAudioSource)
        queued = source.queued_duration
        if queued <= 0:
            return
        cleared = source.captured.tail(queued)
        source.clear_queue()
        if cleared is None:
            return
        # the playhead is where the queue began: count the cleared audio as never pushed, so the
        # forwarder reports the run up to here and `resume()` pushes it again
        self._source_pushed_duration = max(self._source_pushed_duration - cleared.duration, 0.0)
        self._dry_at = time.time()
        self._cleared = cleared

    def resume(self) -> None:
        cleared, self._cleared = self._cleared, None
        if cleared is None or self._interrupted_event.is_set():
            super().resume()
            return
        self._requeue = asyncio.create_task(self._queue_then_resume(cleared))

    async def _queue_then_resume(self, cleared: rtc.AudioFrame) -> None:
        # the forwarder holds its next frame until playback is enabled, so this goes first
        with contextlib.suppress(Exception):
            self._source_pushed_duration += cleared.duration
            await self._audio_source.capture_frame(cleared)
            self._dry_at = time.time() + self._audio_source.queued_duration
        self._requeue = None
        super().resume()

    def clear_buffer(self) -> None:
        self._cleared = None
        if self._requeue is not None:
            self._requeue.cancel()
            self._requeue = None
            super().resume()
        super().clear_buffer()


def install() -> None:
    """Make RoomIO build `RewindingAudioOutput` for the agent's audio (once per process)."""
    room_io._ParticipantAudioOutput = RewindingAudioOutput  # type: ignore[attr-defined]
