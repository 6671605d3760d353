"""Stage marks on the caller's side of a reply, for `intake bench latency`.

With `INTAKE_STAGE_MARKS=1` the worker notes, for each caller frame loud enough to be speech,
when it reached the Realtime session (`push_audio`: livekit's audio stream has delivered it)
and when its `input_audio_buffer.append` was queued for the model's WebSocket. When the model
says the caller's speech stopped, the worker logs both for the last loud frame: the benchmark
then splits the inbound time into caller -> worker (the WebRTC hop and the 20 ms input frame)
and worker -> model (our append and the socket). Off, nothing is measured per frame.
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any

from livekit import rtc

from agent.playout import STAGE_MARK_LEVEL
from audio.room import frame_rms

logger = logging.getLogger("intake.inbound")
CALLER_SPEECH_MARK = "caller speech end reached the worker"
# loud enough to count as speech: the Realtime API's default VAD threshold (0.5), as the
# simulator maps it to a level (-45 dBFS RMS), so the worker's last loud frame is the one the
# model's turn detection heard last
LOUD_RMS = 32768.0 * math.pow(10.0, -45.0 / 20.0)


def frame_is_loud(frame: rtc.AudioFrame) -> bool:
    return frame_rms(frame.data) >= LOUD_RMS


class InboundMarks:
    """Times of the last loud caller frame: in at the session, and its append queued."""

    def __init__(self) -> None:
        self.frame_in_at: float | None = None
        self.sent_at: float | None = None

    def watch(self, session: Any) -> None:
        """Wrap the session's `push_audio` and log at each `input_speech_stopped`."""
        push_audio = session.push_audio

        def timed_push_audio(frame: rtc.AudioFrame) -> None:
            arrived = time.time()
            push_audio(frame)  # resamples if needed and queues the appends
            if frame_is_loud(frame):
                self.frame_in_at, self.sent_at = arrived, time.time()

        session.push_audio = timed_push_audio
        session.on("input_speech_stopped", self.log_speech_end)

    def log_speech_end(self, _event: Any = None) -> None:
        if self.frame_in_at is None or self.sent_at is None:
            return
        logger.log(STAGE_MARK_LEVEL, CALLER_SPEECH_MARK,
                   extra={"frame_in_at": self.frame_in_at, "sent_at": self.sent_at})
        self.frame_in_at = self.sent_at = None
