"""The agent's audio output: a pause empties the source's queue at once, a resume queues what
was cleared again, and an interruption while paused reports the playhead where it stopped."""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
import pytest
from livekit import rtc

from agent.playout import CapturedAudio, RewindingAudioOutput

pytestmark = pytest.mark.unit

RATE = 24000
FRAME = 480  # 20 ms


def _frame(start: int, samples: int = FRAME) -> rtc.AudioFrame:
    data = (np.arange(start, start + samples) % 30000).astype(np.int16)
    return rtc.AudioFrame(data.tobytes(), RATE, 1, samples)


def test_the_tail_is_the_last_audio_captured() -> None:
    captured = CapturedAudio(keep_s=0.5)
    for index in range(50):  # 1 s, of which 0.5 s is kept
        captured.add(_frame(index * FRAME))
    tail = captured.tail(0.1)
    assert tail is not None and tail.samples_per_channel == 2400
    samples = np.frombuffer(tail.data, dtype=np.int16)
    assert samples[-1] == (50 * FRAME - 1) % 30000 and samples[0] == (50 * FRAME - 2400) % 30000
    assert captured.tail(0) is None


async def _speaking_output(seconds: float) -> tuple[RewindingAudioOutput, list[Any]]:
    output = RewindingAudioOutput(object(), sample_rate=RATE, num_channels=1,  # type: ignore[arg-type]
                                  track_publish_options=rtc.TrackPublishOptions())
    output._subscribed_fut.set_result(None)  # no track: the source still plays out in time
    output._forwarding_task = asyncio.create_task(output._forward_audio())
    finished: list[Any] = []
    output.on("playback_finished", finished.append)
    for index in range(round(seconds * RATE / FRAME)):
        await output.capture_frame(_frame(index * FRAME))
    output.flush()
    return output, finished


async def test_a_pause_empties_the_queue_and_a_resume_loses_nothing() -> None:
    output, finished = await _speaking_output(1.0)
    await asyncio.sleep(0.3)
    output.pause()
    assert output._audio_source.queued_duration == 0.0  # nothing more reaches the caller
    await asyncio.sleep(0.2)
    output.resume()
    await asyncio.wait_for(output._flush_task or asyncio.sleep(0), 5.0)
    await asyncio.sleep(0.05)
    assert len(finished) == 1
    assert not finished[0].interrupted
    # every second of the line played: the cleared queue was played after the resume
    assert finished[0].playback_position == pytest.approx(1.0, abs=0.001)
    await output.aclose()


async def test_an_interruption_while_paused_reports_where_the_caller_stopped_hearing() -> None:
    output, finished = await _speaking_output(2.0)
    loop = asyncio.get_running_loop()
    await asyncio.sleep(0.5)
    started = loop.time()
    output.pause()
    output.clear_buffer()
    await asyncio.sleep(0.1)
    assert len(finished) == 1 and finished[0].interrupted
    # the playhead at the pause: well short of what was queued ahead of it
    heard = finished[0].playback_position
    assert 0.3 < heard < 0.5 + (loop.time() - started) + 0.05
    await output.aclose()
