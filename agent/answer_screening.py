"""Who picked up an outbound call: a person or an answering machine, told from their audio.

Decided before the agent says a word. A person answers with a short "Hello?" and waits for
us; a recorded greeting talks on for several seconds. The decision is a pure function of voice
activity over audio time (`AnswerClassifier`), so it is the same on a loaded machine as on an
idle one; `AnswerScreener` feeds it from Silero VAD running over the callee's audio.

After a machine's verdict, `GreetingEndDetector` says when to start talking: when the beep
is over (a steady tone), or after a long silence for greetings without one.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
from livekit import rtc
from livekit.agents import vad

AnsweredBy = Literal["person", "machine", "silence", "hung_up"]
SCREENING_SAMPLE_RATE = 16000  # Silero's own rate: no resampling inside the VAD


@dataclass(frozen=True)
class ScreeningRules:
    # speech followed by this much silence is a person's hello, waiting for an answer
    person_pause_s: float = 0.7
    # this much speech before such a pause: a recording, not a person
    machine_speech_s: float = 2.8
    # nobody speaks at all for this long: we talk first (a person who waits for us)
    no_speech_s: float = 4.0
    # a verdict by then at the latest, in audio time since the answer
    max_listen_s: float = 6.0
    # a machine's greeting is over after this much silence (greetings without a beep)
    greeting_silence_s: float = 1.5
    # a tone at least this long is the beep; talking starts when it ends
    min_beep_s: float = 0.2
    # never wait longer than this for a greeting to end
    max_greeting_s: float = 45.0


class AnswerClassifier:
    """Feed (audio time, speaking) observations in order; returns a verdict once it has one."""

    def __init__(self, rules: ScreeningRules | None = None) -> None:
        self.rules = rules or ScreeningRules()
        self._last_at = 0.0
        self._speech_s = 0.0
        self._first_speech_at: float | None = None
        self._last_speech_at = 0.0

    def observe(self, at: float, speaking: bool) -> AnsweredBy | None:
        rules = self.rules
        elapsed = max(0.0, at - self._last_at)
        self._last_at = at
        if speaking:
            if self._first_speech_at is None:
                self._first_speech_at = at
            self._speech_s += elapsed
            self._last_speech_at = at
            if self._speech_s >= rules.machine_speech_s:
                return "machine"
        elif (self._first_speech_at is not None
              and at - self._last_speech_at >= rules.person_pause_s):
            return "person"
        if self._first_speech_at is None and at >= rules.no_speech_s:
            return "silence"
        if at >= rules.max_listen_s:
            # still talking on and off without ever a long enough run: a person
            return "person"
        return None


class GreetingEndDetector:
    """After a machine's verdict: feed (audio time, speaking, tone); True once the greeting
    (and its beep, if any) is over."""

    def __init__(self, started_at: float, rules: ScreeningRules | None = None) -> None:
        self.rules = rules or ScreeningRules()
        self._started_at = started_at
        self._last_at = started_at
        self._last_sound_at = started_at
        self._tone_s = 0.0

    def observe(self, at: float, speaking: bool, tone: bool) -> bool:
        rules = self.rules
        elapsed = max(0.0, at - self._last_at)
        self._last_at = at
        if tone:
            self._tone_s += elapsed
        else:
            if self._tone_s >= rules.min_beep_s:
                return True  # the beep just ended: the machine is recording
            self._tone_s = 0.0
        if speaking or tone:
            self._last_sound_at = at
        elif at - self._last_sound_at >= rules.greeting_silence_s:
            return True
        return at - self._started_at >= rules.max_greeting_s


def is_tone(samples: npt.NDArray[np.int16], sample_rate: int, *,
            min_rms: float = 300.0, min_peak_share: float = 0.6) -> bool:
    """A steady tone (a voicemail beep): loud, with most of its energy at one frequency.

    Speech spreads its energy over a fundamental and many harmonics; a beep is one line.
    """
    if samples.size < 64:
        return False
    signal = samples.astype(np.float64)
    if float(np.sqrt(np.mean(signal ** 2))) < min_rms:
        return False
    power = np.abs(np.fft.rfft(signal * np.hanning(signal.size))) ** 2
    total = float(power.sum())
    if total <= 0.0:
        return False
    peak = int(np.argmax(power))
    frequency = peak * sample_rate / signal.size
    if not 300.0 <= frequency <= 3400.0:  # telephone band; hum and hiss are not beeps
        return False
    share = float(power[max(0, peak - 2):peak + 3].sum()) / total
    return share >= min_peak_share


def _frame_samples(frame: rtc.AudioFrame) -> npt.NDArray[np.int16]:
    return np.frombuffer(bytes(frame.data), dtype=np.int16)


class AnswerScreener:
    """Silero VAD over the callee's audio, feeding the classifier and then the greeting
    detector. Bound every wait from outside (`asyncio.timeout`): audio can stop arriving."""

    def __init__(self, vad_model: vad.VAD, frames: AsyncIterable[rtc.AudioFrame],
                 rules: ScreeningRules | None = None) -> None:
        self.rules = rules or ScreeningRules()
        self._stream = vad_model.stream()
        self._events = self._stream.__aiter__()
        self._pump = asyncio.create_task(self._push(frames), name="intake-screening-audio")
        self._decided_at = 0.0

    async def _push(self, frames: AsyncIterable[rtc.AudioFrame]) -> None:
        try:
            async for frame in frames:
                self._stream.push_frame(frame)
        finally:
            with contextlib.suppress(RuntimeError):
                self._stream.end_input()

    async def _inference(self) -> vad.VADEvent | None:
        """The next per-window VAD result; None when the callee's audio has ended."""
        while True:
            try:
                event = await self._events.__anext__()
            except StopAsyncIteration:
                return None
            if event.type == vad.VADEventType.INFERENCE_DONE:
                return event

    async def answered_by(self) -> AnsweredBy:
        classifier = AnswerClassifier(self.rules)
        while True:
            event = await self._inference()
            if event is None:
                return "hung_up"
            verdict = classifier.observe(event.timestamp, event.speaking)
            if verdict is not None:
                self._decided_at = event.timestamp
                return verdict

    async def greeting_over(self) -> bool:
        """Wait for the machine's greeting to end; False if the line went dead first."""
        detector = GreetingEndDetector(self._decided_at, self.rules)
        while True:
            event = await self._inference()
            if event is None:
                return False
            tone = any(is_tone(_frame_samples(f), f.sample_rate) for f in event.frames)
            if detector.observe(event.timestamp, event.speaking, tone):
                return True

    async def aclose(self) -> None:
        self._pump.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._pump
        await self._stream.aclose()


async def audio_frames(stream: rtc.AudioStream) -> AsyncIterable[rtc.AudioFrame]:
    async for event in stream:
        yield event.frame


__all__ = ["SCREENING_SAMPLE_RATE", "AnswerClassifier", "AnswerScreener", "AnsweredBy",
           "GreetingEndDetector", "ScreeningRules", "audio_frames", "is_tone"]
