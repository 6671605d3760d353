"""The early onset cue: a fricative is heard before Silero calls speech, steady or slowly
rising noise is not, and a call's VAD stream reports the cue to that call before its start."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest
from livekit import rtc
from livekit.agents import vad
from livekit.plugins import silero
from livekit.plugins.silero import onnx_model

from agent.lean_vad import CallVAD, LeanSileroVAD, speech_onset_s, with_onset_cue
from agent.process_vad import process_vad
from agent.speech_onset import OnsetDetector
from audio.speech import render_speech_pcm16

pytestmark = pytest.mark.unit

RATE = 24000
FRAME = 480  # 20 ms, as the room delivers it


def _cue_times(samples: npt.NDArray[np.int16]) -> list[float]:
    """Stream seconds at the end of each frame in which the detector cued."""
    detector = OnsetDetector(RATE)
    return [(start + FRAME) / RATE for start in range(0, samples.size - FRAME + 1, FRAME)
            if detector.push(samples[start:start + FRAME])]


def _noise(seconds: float, rms: float, seed: int = 0) -> npt.NDArray[np.float32]:
    rng = np.random.default_rng(seed)
    return rng.normal(0.0, rms, int(seconds * RATE)).astype(np.float32)


def _int16(signal: npt.NDArray[np.float32]) -> npt.NDArray[np.int16]:
    return np.clip(signal, -32768, 32767).astype(np.int16)


def _line(text: str, lead_s: float = 0.5) -> tuple[npt.NDArray[np.int16], float]:
    """Silence, the line, silence; and when the line's first loud sample is."""
    words = np.frombuffer(render_speech_pcm16(text, RATE, cache=True), dtype=np.int16)
    first_loud = int(np.flatnonzero(np.abs(words.astype(np.int32)) > 300)[0])
    lead = int(lead_s * RATE)
    audio = np.concatenate((np.zeros(lead, np.int16), words, np.zeros(RATE // 2, np.int16)))
    return audio, (lead + first_loud) / RATE


@pytest.mark.parametrize("rms", [0.0, 30.0, 100.0, 1000.0])
def test_steady_noise_never_cues(rms: float) -> None:
    assert _cue_times(_int16(_noise(10.0, rms))) == []


def test_noise_rising_slowly_does_not_cue() -> None:
    # 2 dB a second for 10 s (a street getting busier), under the floor's 3 dB a second
    ramp = (30.0 * 10 ** (2.0 * np.arange(10 * RATE) / RATE / 20)).astype(np.float32)
    assert _cue_times(_int16(_noise(10.0, 1.0) * ramp)) == []


def test_a_hiss_over_line_noise_cues_within_thirty_ms() -> None:
    hiss = np.diff(_noise(0.3, 1500.0, seed=1), prepend=np.float32(0.0))  # high-band, "sss"
    signal = np.concatenate((_noise(1.0, 30.0), _noise(0.3, 30.0, seed=2) + hiss,
                             _noise(1.0, 30.0, seed=3)))
    cues = _cue_times(_int16(signal))
    assert len(cues) == 1
    assert 0.0 < cues[0] - 1.0 <= 0.03


def test_one_cue_per_sound_until_the_line_is_quiet_again() -> None:
    burst = _noise(0.2, 2000.0, seed=4)
    quiet = np.zeros(int(0.05 * RATE), np.float32)  # too short a gap to re-arm
    long_quiet = np.zeros(int(0.5 * RATE), np.float32)
    signal = np.concatenate((long_quiet, burst, quiet, burst, long_quiet, burst, long_quiet))
    assert len(_cue_times(_int16(signal))) == 2


@pytest.mark.parametrize("text", ["Sorry, can I stop you there?", "Stop.", "Sure."])
def test_a_fricative_line_is_cued_well_before_silero_starts_speech(text: str) -> None:
    audio, first_loud = _line(text)
    cue = _cue_times(audio)[0] - first_loud
    vad_model = process_vad()
    assert isinstance(vad_model, LeanSileroVAD)
    model = onnx_model.OnnxModel(onnx_session=vad_model.session, sample_rate=16000)
    started = speech_onset_s(audio, RATE, vad_model.options, model, FRAME)
    assert started is not None
    assert 0.0 < cue <= 0.04
    assert started - first_loud - cue >= 0.05  # Silero needs the vowel


async def test_a_calls_stream_reports_the_cue_before_the_speech_start() -> None:
    order: list[str] = []
    vad_model = process_vad()
    call_vad = with_onset_cue(vad_model, lambda: order.append("cue"))
    assert isinstance(call_vad, CallVAD)
    assert call_vad.min_silence_duration == vad_model.min_silence_duration  # type: ignore[attr-defined]
    audio, _ = _line("Sorry, can I stop you there?")
    stream = call_vad.stream()
    for start in range(0, audio.size - FRAME + 1, FRAME):
        chunk = audio[start:start + FRAME]
        stream.push_frame(rtc.AudioFrame(chunk.tobytes(), RATE, 1, chunk.size))
    stream.end_input()
    async for event in stream:
        if event.type != vad.VADEventType.INFERENCE_DONE:
            order.append(event.type.value)
    await stream.aclose()
    assert order[:2] == ["cue", vad.VADEventType.START_OF_SPEECH.value]
    assert order.count("cue") == 1  # none while Silero says the caller is speaking


def test_another_vad_is_passed_through_untouched() -> None:
    plugin = silero.VAD.load()
    assert with_onset_cue(plugin, lambda: None) is plugin


@pytest.mark.parametrize("kind", ["street", "car"])
def test_the_eval_banks_line_noise_never_cues(kind: str) -> None:
    """Traffic hiss that swells and fades, and a car's rumble (the bank's sox recipes)."""
    import subprocess

    from evals.caller_audio import _NOISE_RECIPES, SAMPLE_RATE

    raw = subprocess.run(
        ["sox", "-n", "-r", str(SAMPLE_RATE), "-c", "1", "-b", "16", "-e", "signed-integer",
         "-t", "raw", "-", "synth", "20", *_NOISE_RECIPES[kind]],
        capture_output=True, check=True, timeout=60).stdout
    noise = np.frombuffer(raw, dtype="<i2").astype(np.int16)
    assert noise.size == 20 * SAMPLE_RATE and np.abs(noise).max() > 100
    detector = OnsetDetector(SAMPLE_RATE)
    step = SAMPLE_RATE // 50
    assert not [i for i in range(noise.size // step)
                if detector.push(noise[i * step:(i + 1) * step])]
