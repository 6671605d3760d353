"""Stage marks: wall-clock times the worker logs at points of a turn's audio path, which
`intake bench latency` reads from its log to split a figure into stages. They are logged at
INFO only when INTAKE_STAGE_MARKS=1 (the benchmark sets it), at DEBUG otherwise, and carry a
time and nothing of what was said.
"""

from __future__ import annotations

import logging
import os
import time
from collections import deque
from collections.abc import Mapping
from typing import Any

STAGE_MARKS_ON = os.environ.get("INTAKE_STAGE_MARKS") == "1"
STAGE_MARK_LEVEL = logging.INFO if STAGE_MARKS_ON else logging.DEBUG

# outbound: the first frame of an agent line is queued for playout (agent.playout)
FIRST_FRAME_MARK = "first frame of a line queued"
# inbound: where the worker's local VAD places the end of the caller's speech (backdated by the
# silence it waited on), and when the append carrying that audio was queued for the model
SPEECH_END_MARK = "caller speech end heard by the worker"
SENT_TO_MODEL_MARK = "caller speech end queued for the model"

# appends are 20 ms (agent.realtime_model.INPUT_CHUNK_MS): the last ~5 s of them
APPENDS_KEPT = 250

logger = logging.getLogger("intake.stage_marks")


class AppendTimes:
    """When each `input_audio_buffer.append` was queued for the model's socket, from the
    plugin's `openai_client_event_queued` event (listened to only with marks on)."""

    def __init__(self) -> None:
        self._times: deque[float] = deque(maxlen=APPENDS_KEPT)

    def on_client_event(self, event: Mapping[str, Any]) -> None:
        if event.get("type") == "input_audio_buffer.append":
            self._times.append(time.time())

    def first_at_or_after(self, at: float) -> float | None:
        return next((t for t in self._times if t >= at), None)


def mark_caller_speech_end(ended_at: float, appends: AppendTimes | None) -> None:
    logger.log(STAGE_MARK_LEVEL, SPEECH_END_MARK, extra={"at": ended_at})
    sent = appends.first_at_or_after(ended_at) if appends is not None else None
    if sent is not None:
        logger.log(STAGE_MARK_LEVEL, SENT_TO_MODEL_MARK, extra={"at": sent})
