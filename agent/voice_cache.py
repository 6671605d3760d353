"""Fixed lines rendered in the model's voice, on disk by text, model, voice and endpoint.

Written once by the worker's main process at start (`agent.fixed_lines`); job processes only
read it. Lines with caller data are never written here.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from agent.config import WorkerSettings
from agent.voice_lines import SAMPLE_RATE, RealtimeVoice
from audio.cache_files import cache_dir, write_cache_file
from audio.speech import render_speech_pcm16


def voice_cache_dir() -> Path:
    return cache_dir("voice")


def _path(voice: RealtimeVoice, text: str) -> Path:
    key = hashlib.sha256(
        f"v1|{voice.endpoint}|{voice.model}|{voice.voice}|{text}".encode()).hexdigest()
    return voice_cache_dir() / f"{key}.pcm"


def has_cached_line(voice: RealtimeVoice, text: str) -> bool:
    return _path(voice, text).is_file()


def cached_line(voice: RealtimeVoice, text: str) -> bytes | None:
    """PCM16 24 kHz of `text` in `voice`, if a worker rendered it before."""
    try:
        return _path(voice, text).read_bytes() or None
    except OSError:
        return None


def store_line(voice: RealtimeVoice, text: str, pcm: bytes) -> None:
    """Keep a fixed line's rendering (never a line with caller data in it)."""
    write_cache_file(_path(voice, text), pcm)


def realtime_voice(settings: WorkerSettings) -> RealtimeVoice:
    """The call's model and voice at the call's endpoint."""
    return RealtimeVoice(base_url=settings.openai_base_url, api_key=settings.openai_api_key or "",
                         model=settings.realtime_model, voice=settings.realtime_voice,
                         connect_timeout_s=settings.voice_connect_timeout_s)


def fixed_line_pcm(settings: WorkerSettings, text: str) -> bytes:
    """A fixed line for a job process: the model's rendering from the cache, else espeak-ng
    (the worker's start found the API unreachable, or the model would not say it verbatim;
    the worker logged that once)."""
    if settings.fixed_lines_in_model_voice:
        pcm = cached_line(realtime_voice(settings), text)
        if pcm is not None:
            return pcm
    return render_speech_pcm16(text, SAMPLE_RATE, cache=True)
