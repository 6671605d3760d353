"""The simulated model's voice: the project's one espeak-ng renderer, at the wire's rate.

Sharing `audio.speech` keeps one synthesizer in the project, and gives the
simulator's audio the same trimmed lead-in as the agent's pre-rendered lines, so measured
response latency is not padded by synthesizer silence.
"""

from __future__ import annotations

import functools

from audio.speech import SpeechRenderError, render_speech_pcm16


class SpeechSynthesisError(RuntimeError):
    """espeak-ng is missing or produced no audio."""


def synthesize_pcm16(text: str, sample_rate: int, *, voice: str = "en-us") -> bytes:
    """Speak ``text`` as little-endian PCM16 mono at ``sample_rate`` Hz (cached)."""
    if sample_rate <= 0:
        raise ValueError("sample_rate must be positive")
    return _synthesize_cached(text, sample_rate, voice)


def silence_pcm16(duration_ms: int, sample_rate: int) -> bytes:
    """Digital silence of the given length, PCM16 mono."""
    return b"\x00\x00" * (sample_rate * duration_ms // 1000)


@functools.lru_cache(maxsize=512)
def _synthesize_cached(text: str, sample_rate: int, voice: str) -> bytes:
    if not text.strip():
        return b""
    try:
        return render_speech_pcm16(text, sample_rate, voice=voice, cache=True)  # scripted lines
    except SpeechRenderError as exc:
        raise SpeechSynthesisError(str(exc)) from None


def synthesize_uncached_pcm16(text: str, sample_rate: int, *, voice: str = "en-us") -> bytes:
    """As synthesize_pcm16, never cached: text a client sent may carry caller data."""
    if not text.strip():
        return b""
    try:
        return render_speech_pcm16(text, sample_rate, voice=voice, cache=False)
    except SpeechRenderError as exc:
        raise SpeechSynthesisError(str(exc)) from None
