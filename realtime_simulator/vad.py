"""Energy-based speech detection on PCM16 mono audio, in fixed windows.

Written by hand rather than using Silero: the simulator must be deterministic, fast and
free of model files, and only has to separate synthetic speech from (near) silence.
Times are measured in audio time (samples received), not wall time, so a client that
sends audio faster than real time gets the same events, sooner.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

WINDOW_MS = 20
SPEECH_START_MS = 100
"""Sustained energy needed before speech counts as started (rejects clicks)."""


def threshold_to_dbfs(threshold: float) -> float:
    """Map the Realtime API's 0..1 VAD threshold onto an RMS level in dBFS.

    0.5 (the API default) is -45 dBFS; higher thresholds need louder speech.
    """
    clamped = min(max(threshold, 0.0), 1.0)
    return -70.0 + 50.0 * clamped


@dataclass(frozen=True)
class SpeechEvent:
    kind: Literal["started", "stopped"]
    audio_ms: int
    """started: audio time of the first voiced window; stopped: end of the last voiced one."""
    silence_ms: int = 0
    """stopped only: the silence measured before deciding speech had stopped."""


class EnergySpeechDetector:
    """Feed PCM16 bytes; get speech start/stop events.

    A start needs ``SPEECH_START_MS`` of consecutive windows above the threshold; a stop
    needs ``silence_duration_ms`` of consecutive windows below it.
    """

    def __init__(
        self,
        *,
        sample_rate: int = 24000,
        threshold: float = 0.5,
        silence_duration_ms: int = 500,
    ) -> None:
        self._sample_rate = sample_rate
        self._window_samples = sample_rate * WINDOW_MS // 1000
        self._pending = b""
        self._samples_seen = 0
        self.configure(threshold=threshold, silence_duration_ms=silence_duration_ms)
        self._in_speech = False
        self._voiced_run = 0
        self._silent_run = 0
        self._last_voiced_end_ms = 0
        self.speech_seen = False
        """True once speech started since the last ``reset_segment``."""

    def configure(self, *, threshold: float, silence_duration_ms: int) -> None:
        self._rms_threshold = 32768.0 * math.pow(10.0, threshold_to_dbfs(threshold) / 20.0)
        self._silence_windows = max(1, math.ceil(silence_duration_ms / WINDOW_MS))
        self._start_windows = max(1, SPEECH_START_MS // WINDOW_MS)

    @property
    def in_speech(self) -> bool:
        return self._in_speech

    @property
    def audio_ms(self) -> int:
        """Audio time of everything fed so far."""
        return self._samples_seen * 1000 // self._sample_rate

    def reset_segment(self) -> None:
        """Forget the current segment (the buffer was cleared or committed by the client)."""
        self._in_speech = False
        self._voiced_run = 0
        self._silent_run = 0
        self.speech_seen = False

    def feed(self, pcm: bytes) -> list[SpeechEvent]:
        data = self._pending + pcm
        window_bytes = self._window_samples * 2
        usable = len(data) - len(data) % window_bytes
        self._pending = data[usable:]
        if usable == 0:
            return []
        windows = np.frombuffer(data[:usable], dtype="<i2").astype(np.float64)
        windows = windows.reshape(-1, self._window_samples)
        rms = np.sqrt(np.mean(windows * windows, axis=1))
        events: list[SpeechEvent] = []
        for level in rms:
            window_start_ms = self.audio_ms
            self._samples_seen += self._window_samples
            voiced = bool(level >= self._rms_threshold)
            if voiced:
                self._voiced_run += 1
                self._silent_run = 0
                self._last_voiced_end_ms = self.audio_ms
            else:
                self._voiced_run = 0
                self._silent_run += 1
            if not self._in_speech and self._voiced_run >= self._start_windows:
                self._in_speech = True
                self.speech_seen = True
                start_ms = window_start_ms - (self._start_windows - 1) * WINDOW_MS
                events.append(SpeechEvent("started", max(0, start_ms)))
            elif self._in_speech and self._silent_run >= self._silence_windows:
                self._in_speech = False
                events.append(
                    SpeechEvent(
                        "stopped",
                        self._last_voiced_end_ms,
                        silence_ms=self._silent_run * WINDOW_MS,
                    )
                )
        return events
