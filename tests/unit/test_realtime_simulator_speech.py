"""espeak-ng synthesis and the energy speech detector."""

from __future__ import annotations

import numpy as np
import pytest

from realtime_simulator import synthesize_pcm16
from realtime_simulator.speech import silence_pcm16
from realtime_simulator.vad import EnergySpeechDetector, SpeechEvent, threshold_to_dbfs

pytestmark = pytest.mark.unit

TEXT = "Hi, my water heater is leaking in the basement."


def test_synthesis_is_pcm16_at_the_asked_rate_and_cached() -> None:
    at_24k = synthesize_pcm16(TEXT, 24000)
    at_48k = synthesize_pcm16(TEXT, 48000)
    assert len(at_24k) % 2 == 0 and len(at_24k) > 24000  # more than half a second
    # same speech, twice the samples (within one sample of rounding)
    assert abs(len(at_48k) // 2 - 2 * (len(at_24k) // 2)) <= 2
    assert synthesize_pcm16(TEXT, 24000) is at_24k
    samples = np.frombuffer(at_24k, dtype="<i2")
    assert int(np.abs(samples).max()) > 1000
    assert synthesize_pcm16("   ", 24000) == b""
    with pytest.raises(ValueError):
        synthesize_pcm16(TEXT, 0)


def test_detector_finds_one_segment_in_speech_between_silences() -> None:
    speech = synthesize_pcm16(TEXT, 24000)
    detector = EnergySpeechDetector(threshold=0.5, silence_duration_ms=500)
    events: list[SpeechEvent] = []
    audio = silence_pcm16(1000, 24000) + speech + silence_pcm16(1000, 24000)
    for i in range(0, len(audio), 4800):  # 100 ms appends, as the plugin sends them
        events.extend(detector.feed(audio[i : i + 4800]))
    assert [e.kind for e in events] == ["started", "stopped"]
    speech_ms = len(speech) // 48
    assert 1000 <= events[0].audio_ms < 1100
    assert 1000 + speech_ms - 500 <= events[1].audio_ms <= 1000 + speech_ms
    assert events[1].silence_ms == 500
    assert detector.speech_seen


def test_detector_ignores_silence_and_short_bursts_and_honours_threshold() -> None:
    detector = EnergySpeechDetector(threshold=0.5, silence_duration_ms=300)
    burst = b"\xff\x7f" * 960  # 40 ms full scale: not sustained
    assert detector.feed(silence_pcm16(500, 24000) + burst + silence_pcm16(500, 24000)) == []
    quiet = (np.sin(np.arange(24000) / 5) * 300).astype("<i2").tobytes()  # about -44 dBFS
    assert [e.kind for e in detector.feed(quiet)] == ["started"]
    strict = EnergySpeechDetector(threshold=0.9, silence_duration_ms=300)
    assert strict.feed(quiet) == []
    assert threshold_to_dbfs(0.5) == -45.0
