"""The lean Silero stream hears what the plugin's stream hears, with the same events and
fields, and its resampler joins frames without a seam."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest
from livekit import rtc
from livekit.agents import vad
from livekit.plugins import silero

from agent.assets import VAD_MIN_SILENCE_S, VAD_MIN_SPEECH_S
from agent.lean_vad import MODEL_RATE, Downsampler, LeanSileroVAD, LeanVADOptions
from audio.speech import render_speech_pcm16

pytestmark = pytest.mark.unit

SPEECH = ("My water heater is leaking in the basement.", "Yes, that's right.", "Mm-hm.")


def _caller(rate: int) -> npt.NDArray[np.int16]:
    pause = np.zeros(int(0.8 * rate), dtype=np.int16)
    parts = [pause]
    for line in SPEECH:
        parts += [np.frombuffer(render_speech_pcm16(line, rate, cache=True), np.int16), pause]
    return np.concatenate(parts)


async def _events(model: vad.VAD, samples: npt.NDArray[np.int16], rate: int,
                  frame_ms: int = 20, flush_at: int | None = None) -> list[vad.VADEvent]:
    stream = model.stream()
    step = rate * frame_ms // 1000
    for index, start in enumerate(range(0, samples.size - step + 1, step)):
        if index == flush_at:
            stream.flush()
        chunk = samples[start:start + step]
        stream.push_frame(rtc.AudioFrame(chunk.tobytes(), rate, 1, chunk.size))
    stream.end_input()
    events = [event async for event in stream]
    await stream.aclose()
    return events


def _speech_marks(events: list[vad.VADEvent]) -> list[tuple[str, float]]:
    return [(e.type.value, e.timestamp) for e in events
            if e.type != vad.VADEventType.INFERENCE_DONE]


def _options() -> LeanVADOptions:
    return LeanVADOptions(min_speech_duration=VAD_MIN_SPEECH_S,
                          min_silence_duration=VAD_MIN_SILENCE_S)


def _plugin() -> vad.VAD:
    return silero.VAD.load(min_speech_duration=VAD_MIN_SPEECH_S,
                           min_silence_duration=VAD_MIN_SILENCE_S, activation_threshold=0.5)


def _tone(rate: int, seconds: float, hz: float = 1000.0) -> npt.NDArray[np.float32]:
    t = np.arange(int(rate * seconds)) / rate
    return (0.5 * np.sin(2 * np.pi * hz * t)).astype(np.float32)


@pytest.mark.parametrize("rate", [8000, 24000, 48000])
def test_the_resampler_keeps_a_tone_and_joins_frames_without_a_seam(rate: int) -> None:
    tone = _tone(rate, 1.0)
    whole = Downsampler(rate).push(tone)
    framed = Downsampler(rate)
    step = rate // 50
    pieces = np.concatenate([framed.push(tone[i:i + step]) for i in range(0, tone.size, step)])
    assert abs(pieces.size - MODEL_RATE) <= 3 and abs(whole.size - pieces.size) <= 1
    assert np.allclose(pieces[:whole.size], whole[:pieces.size], atol=1e-5)
    # still a 1 kHz tone at 16 kHz, at nearly its level (the low-pass barely touches 1 kHz)
    expected = _tone(MODEL_RATE, 1.0)
    settled = slice(32, pieces.size - 32)
    correlation = np.corrcoef(pieces[settled], np.roll(expected, 0)[:pieces.size][settled])[0, 1]
    lagged = max(np.corrcoef(pieces[settled], np.roll(expected, lag)[:pieces.size][settled])[0, 1]
                 for lag in range(0, 4))
    assert max(correlation, lagged) > 0.99
    assert 0.9 < np.sqrt(np.mean(pieces[settled] ** 2)) / np.sqrt(0.125) < 1.01


def test_16_khz_passes_through_untouched() -> None:
    tone = _tone(MODEL_RATE, 0.1)
    assert np.array_equal(Downsampler(MODEL_RATE).push(tone), tone)


async def test_at_16_khz_every_window_matches_the_plugin_exactly() -> None:
    samples = _caller(MODEL_RATE)
    ours, theirs = (await _events(LeanSileroVAD(_options()), samples, MODEL_RATE),
                    await _events(_plugin(), samples, MODEL_RATE))
    assert [e.type for e in ours] == [e.type for e in theirs]
    for mine, plugin in zip(ours, theirs, strict=True):
        assert mine.probability == pytest.approx(plugin.probability, abs=1e-6)
        assert mine.timestamp == pytest.approx(plugin.timestamp)
        assert mine.samples_index == plugin.samples_index
        assert mine.speaking == plugin.speaking
        assert mine.speech_duration == pytest.approx(plugin.speech_duration)
        assert mine.silence_duration == pytest.approx(plugin.silence_duration)
        assert mine.raw_accumulated_speech == pytest.approx(plugin.raw_accumulated_speech)
        assert mine.raw_accumulated_silence == pytest.approx(plugin.raw_accumulated_silence)
        assert ([f.samples_per_channel for f in mine.frames]
                == [f.samples_per_channel for f in plugin.frames])
    ends = [e for e in ours if e.type == vad.VADEventType.END_OF_SPEECH]
    assert len(ends) == len(SPEECH)
    plugin_ends = [e for e in theirs if e.type == vad.VADEventType.END_OF_SPEECH]
    assert ends[0].frames[0].data.tobytes() == plugin_ends[0].frames[0].data.tobytes()


async def test_a_long_utterance_is_kept_whole_as_the_plugin_keeps_it() -> None:
    """Ten seconds of talk without a pause: the buffer grows past its first two seconds and
    the end of speech carries all of it, byte for byte as the plugin's does."""
    words = [np.frombuffer(render_speech_pcm16(line, MODEL_RATE, cache=True), np.int16)
             for line in SPEECH]
    talk = np.concatenate([np.zeros(MODEL_RATE // 2, np.int16)] + words * 4
                          + [np.zeros(MODEL_RATE, np.int16)])
    ours = [e for e in await _events(LeanSileroVAD(_options()), talk, MODEL_RATE)
            if e.type == vad.VADEventType.END_OF_SPEECH]
    theirs = [e for e in await _events(_plugin(), talk, MODEL_RATE)
              if e.type == vad.VADEventType.END_OF_SPEECH]
    assert len(ours) == len(theirs) >= 1
    longest = max(ours, key=lambda e: e.frames[0].samples_per_channel)
    assert longest.frames[0].samples_per_channel > 4 * MODEL_RATE
    for mine, plugin in zip(ours, theirs, strict=True):
        assert mine.frames[0].data.tobytes() == plugin.frames[0].data.tobytes()


async def test_at_24_khz_speech_starts_and_ends_within_a_window_of_the_plugin() -> None:
    samples = _caller(24000)
    ours = _speech_marks(await _events(LeanSileroVAD(_options()), samples, 24000))
    theirs = _speech_marks(await _events(_plugin(), samples, 24000))
    assert [kind for kind, _ in ours] == [kind for kind, _ in theirs]
    assert len(ours) == 2 * len(SPEECH)
    for (_, mine), (_, plugin) in zip(ours, theirs, strict=True):
        assert abs(mine - plugin) <= 0.033  # one 32 ms window


async def test_each_window_carries_the_input_audio_it_covered() -> None:
    samples = _caller(24000)
    events = await _events(LeanSileroVAD(_options()), samples, 24000)
    done = [e for e in events if e.type == vad.VADEventType.INFERENCE_DONE]
    covered = np.concatenate([np.frombuffer(e.frames[0].data, np.int16) for e in done])
    assert all(e.frames[0].sample_rate == 24000 for e in done)
    assert np.array_equal(covered, samples[:covered.size])
    assert samples.size - covered.size < 2 * 768  # at most the last unfinished windows
    start = next(e for e in events if e.type == vad.VADEventType.START_OF_SPEECH)
    # the speech so far, with up to half a second of what came before it
    assert 0 < start.frames[0].samples_per_channel <= int(0.5 * 24000) + 3 * 768


async def test_a_flush_starts_the_stream_over() -> None:
    samples = _caller(MODEL_RATE)
    flushed_at = 100  # 2 s in: inside the first line
    events = await _events(LeanSileroVAD(_options()), samples, MODEL_RATE,
                           flush_at=flushed_at)
    restart = next(i for i in range(1, len(events))
                   if events[i].timestamp < events[i - 1].timestamp)
    after = events[restart:]
    assert after[0].timestamp == pytest.approx(0.032) and not after[0].speaking
    assert len([e for e in after if e.type == vad.VADEventType.START_OF_SPEECH]) >= 1


async def test_frames_at_another_rate_are_dropped() -> None:
    model = LeanSileroVAD(_options())
    stream = model.stream()
    speech = _caller(MODEL_RATE)
    step = MODEL_RATE // 50
    for start in range(0, speech.size - step + 1, step):
        chunk = speech[start:start + step]
        stream.push_frame(rtc.AudioFrame(chunk.tobytes(), MODEL_RATE, 1, chunk.size))
        stray = np.zeros(480, np.int16)
        stream.push_frame(rtc.AudioFrame(stray.tobytes(), 24000, 1, stray.size))
    stream.end_input()
    events = [event async for event in stream]
    await stream.aclose()
    done = [e for e in events if e.type == vad.VADEventType.INFERENCE_DONE]
    assert len(done) == speech.size // 512
