"""Who answered an outbound call, from voice activity alone: a person or an answering machine.

The classifiers are fed synthetic (audio time, speaking, tone) sequences in Silero's 32 ms
windows; the screener runs the real Silero VAD over synthesized speech, as fast as it can,
so the verdicts depend on the audio only, never on how fast this machine is.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import numpy as np
import numpy.typing as npt
import pytest
from livekit import rtc
from livekit.agents import vad
from livekit.plugins import silero

from agent.answer_screening import (
    AnswerClassifier,
    AnsweredBy,
    AnswerScreener,
    GreetingEndDetector,
    ScreeningRules,
    is_tone,
)
from audio.speech import render_speech_pcm16

pytestmark = pytest.mark.unit

WINDOW_S = 0.032
RATE = 16000
RULES = ScreeningRules()


def windows(*segments: tuple[float, bool]) -> Iterator[tuple[float, bool]]:
    """(audio time, speaking) per window for (seconds, speaking) segments in a row."""
    at = 0.0
    for seconds, speaking in segments:
        for _ in range(round(seconds / WINDOW_S)):
            at += WINDOW_S
            yield at, speaking


def classify(*segments: tuple[float, bool]) -> tuple[AnsweredBy | None, float]:
    classifier = AnswerClassifier(RULES)
    for at, speaking in windows(*segments):
        verdict = classifier.observe(at, speaking)
        if verdict is not None:
            return verdict, at
    return None, 0.0


def test_a_short_hello_then_waiting_is_a_person() -> None:
    verdict, at = classify((0.4, False), (0.6, True), (3.0, False))
    assert verdict == "person"
    # decided once the pause after the hello is long enough, not at the end of listening
    assert at == pytest.approx(0.4 + 0.6 + RULES.person_pause_s, abs=2 * WINDOW_S)


def test_a_person_who_says_two_things_with_a_pause_is_still_a_person() -> None:
    verdict, _ = classify((0.3, False), (0.5, True), (0.4, False), (0.8, True), (3.0, False))
    assert verdict == "person"


def test_a_long_greeting_is_a_machine_even_with_pauses_between_sentences() -> None:
    sentences = [(1.4, True), (0.4, False)] * 4
    verdict, at = classify((0.3, False), *sentences)
    assert verdict == "machine"
    assert at < 0.3 + 4 * 1.8  # decided while the greeting is still going


def test_nobody_speaking_is_silence() -> None:
    verdict, at = classify((10.0, False))
    assert verdict == "silence"
    assert at == pytest.approx(RULES.no_speech_s, abs=WINDOW_S)


def test_listening_is_bounded_for_on_and_off_speech() -> None:
    # short bursts with short gaps never add up to a machine nor give a person's pause
    bursts = [(0.2, True), (0.5, False)] * 20
    verdict, at = classify((0.2, False), *bursts)
    assert verdict == "person"
    assert at == pytest.approx(RULES.max_listen_s, abs=WINDOW_S)


def greeting_end(*segments: tuple[float, bool, bool]) -> float | None:
    """When the detector says the greeting is over, for (seconds, speaking, tone) segments."""
    detector = GreetingEndDetector(0.0, RULES)
    at = 0.0
    for seconds, speaking, tone in segments:
        for _ in range(round(seconds / WINDOW_S)):
            at += WINDOW_S
            if detector.observe(at, speaking, tone):
                return at
    return None


def test_the_greeting_is_over_when_the_beep_ends() -> None:
    at = greeting_end((3.0, True, False), (0.3, False, False), (0.5, False, True),
                      (5.0, False, False))
    assert at == pytest.approx(3.0 + 0.3 + 0.5 + WINDOW_S, abs=2 * WINDOW_S)


def test_a_beep_the_vad_calls_speech_still_ends_the_greeting() -> None:
    at = greeting_end((3.0, True, False), (0.6, True, True), (5.0, False, False))
    assert at == pytest.approx(3.6 + WINDOW_S, abs=2 * WINDOW_S)


def test_a_tone_too_short_for_a_beep_is_ignored() -> None:
    at = greeting_end((1.0, True, False), (0.1, True, True), (1.0, True, False),
                      (5.0, False, False))
    assert at == pytest.approx(2.1 + RULES.greeting_silence_s, abs=2 * WINDOW_S)


def test_without_a_beep_the_greeting_ends_after_a_long_silence() -> None:
    at = greeting_end((2.0, True, False), (0.5, False, False), (1.0, True, False),
                      (5.0, False, False))
    assert at == pytest.approx(3.5 + RULES.greeting_silence_s, abs=2 * WINDOW_S)


def test_waiting_for_the_greeting_is_bounded() -> None:
    at = greeting_end((RULES.max_greeting_s + 10, True, False))
    assert at == pytest.approx(RULES.max_greeting_s, abs=WINDOW_S)


def sine(frequency: float, seconds: float, amplitude: float = 8000.0) -> npt.NDArray[np.int16]:
    t = np.arange(round(seconds * RATE)) / RATE
    return (amplitude * np.sin(2 * np.pi * frequency * t)).astype(np.int16)


def speech(text: str) -> npt.NDArray[np.int16]:
    return np.frombuffer(render_speech_pcm16(text, RATE, cache=True), dtype=np.int16)


GREETING = ("Hi, you have reached the Garcia family. We cannot come to the phone right now. "
            "Please leave your name and number after the tone, and we will call you back.")


@pytest.mark.parametrize("frequency", [440.0, 1000.0, 1400.0, 2000.0])
def test_a_beep_is_a_tone(frequency: float) -> None:
    assert is_tone(sine(frequency, 0.032), RATE)


def test_silence_noise_and_hum_are_not_tones() -> None:
    rng = np.random.default_rng(7)
    assert not is_tone(np.zeros(512, dtype=np.int16), RATE)
    assert not is_tone((3000 * rng.standard_normal(512)).astype(np.int16), RATE)
    assert not is_tone(sine(60.0, 0.032), RATE)
    assert not is_tone(sine(1000.0, 0.032, amplitude=100.0), RATE)  # too quiet


def test_speech_never_holds_a_tone_as_long_as_a_beep() -> None:
    samples = speech(GREETING)
    flags = [is_tone(samples[i:i + 512], RATE) for i in range(0, samples.size - 512, 512)]
    longest = run = 0
    for flag in flags:
        run = run + 1 if flag else 0
        longest = max(longest, run)
    assert longest * WINDOW_S < RULES.min_beep_s


# ---- the screener: real Silero VAD over synthesized audio --------------------------------

@pytest.fixture(scope="module")
def vad_model() -> vad.VAD:
    # the worker's settings (agent/worker.py prewarm)
    return silero.VAD.load(min_speech_duration=0.05, min_silence_duration=0.3,
                           activation_threshold=0.5)


def silence(seconds: float) -> npt.NDArray[np.int16]:
    return np.zeros(round(seconds * RATE), dtype=np.int16)


async def frames_of(samples: npt.NDArray[np.int16]) -> AsyncIterator[rtc.AudioFrame]:
    step = RATE // 50  # 20 ms, as a phone line delivers it
    for start in range(0, samples.size, step):
        chunk = samples[start:start + step]
        yield rtc.AudioFrame(chunk.tobytes(), RATE, 1, chunk.size)


async def screen(vad_model: vad.VAD, samples: npt.NDArray[np.int16],
                 ) -> tuple[AnsweredBy, bool | None]:
    screener = AnswerScreener(vad_model, frames_of(samples))
    try:
        verdict = await screener.answered_by()
        over = await screener.greeting_over() if verdict == "machine" else None
        return verdict, over
    finally:
        await screener.aclose()


async def test_screener_hears_a_person(vad_model: vad.VAD) -> None:
    audio = np.concatenate([silence(0.3), speech("Hello?"), silence(8.0)])
    assert await screen(vad_model, audio) == ("person", None)


async def test_screener_hears_a_machine_and_waits_for_its_beep(vad_model: vad.VAD) -> None:
    audio = np.concatenate([silence(0.3), speech(GREETING), silence(0.3), sine(1000.0, 0.5),
                            silence(8.0)])
    assert await screen(vad_model, audio) == ("machine", True)


async def test_screener_reports_a_line_that_goes_dead(vad_model: vad.VAD) -> None:
    assert await screen(vad_model, silence(1.0)) == ("hung_up", None)
    audio = np.concatenate([silence(0.3), speech(GREETING)])  # hangs up mid-greeting
    assert await screen(vad_model, audio) == ("machine", False)
