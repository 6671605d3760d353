"""Speech rendered ahead of time, so the greeting and the apology never wait on the model.

espeak-ng renders the text locally (no network, a few ms per word). Fixed lines (the
playbook's greeting, hold message, apology: `cache=True`) are cached on disk by text, voice and
rate; a line that carries caller data (a warm-transfer briefing) is rendered with
`cache=False` and never touches the disk, so no caller data sits in the cache outside retention.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterable

import numpy as np
from livekit import rtc

from audio.cache_files import cache_dir, write_cache_file

FRAME_MS = 20
ESPEAK_RATE_HZ = 22050


class SpeechRenderError(RuntimeError):
    pass


def resample_pcm16(samples: np.ndarray, source_rate: int, target_rate: int) -> np.ndarray:
    """Linear-interpolation resampling; good enough for speech at telephone bandwidth."""
    if source_rate == target_rate or samples.size == 0:
        return samples.astype(np.int16)
    duration = samples.size / source_rate
    target_len = max(1, round(duration * target_rate))
    positions = np.linspace(0, samples.size - 1, target_len)
    resampled = np.interp(positions, np.arange(samples.size), samples.astype(np.float64))
    return np.clip(np.round(resampled), -32768, 32767).astype(np.int16)


def render_speech_pcm16(text: str, sample_rate: int, *, cache: bool, voice: str = "en-us",
                        words_per_minute: int = 175) -> bytes:
    """Mono PCM16 little-endian audio of `text` at `sample_rate`. `cache`: only for fixed
    lines, never for text with caller data in it."""
    key = hashlib.sha256(
        f"v3|{voice}|{words_per_minute}|{sample_rate}|{text}".encode()).hexdigest()
    cached = cache_dir("speech") / f"{key}.pcm" if cache else None
    if cached is not None and cached.exists():
        return cached.read_bytes()
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        raise SpeechRenderError("espeak-ng not found; run scripts/bootstrap")
    # the text goes through stdin, so text starting with "-" is never read as an option
    result = subprocess.run(
        [espeak, "-v", voice, "-s", str(words_per_minute), "--stdout", "--stdin"],
        input=text.encode("utf-8"), capture_output=True, check=False, timeout=30,
    )
    if result.returncode != 0 or len(result.stdout) < 44:
        raise SpeechRenderError("espeak-ng failed to render speech")
    pcm = trim_leading_silence(_wav_bytes_to_pcm16(result.stdout, sample_rate), sample_rate)
    if cached is not None:
        write_cache_file(cached, pcm)
    return pcm


def _wav_bytes_to_pcm16(data: bytes, sample_rate: int) -> bytes:
    # espeak-ng writes a streaming WAV whose size fields are not filled in; parse the header
    # for the rate and take everything after the data chunk marker
    marker = data.find(b"data")
    if marker < 0:
        raise SpeechRenderError("espeak-ng produced no audio data")
    source_rate = int.from_bytes(data[24:28], "little") or ESPEAK_RATE_HZ
    body = data[marker + 8:]
    body = body[: len(body) - (len(body) % 2)]
    samples = np.frombuffer(body, dtype="<i2")
    return resample_pcm16(samples, source_rate, sample_rate).tobytes()


def trim_leading_silence(pcm: bytes, sample_rate: int, *, threshold: int = 300,
                         keep_ms: int = 10) -> bytes:
    """Drop the synthesizer's lead-in silence: the first word should start at once."""
    samples = np.frombuffer(pcm, dtype="<i2")
    loud = np.flatnonzero(np.abs(samples.astype(np.int32)) > threshold)
    if loud.size == 0:
        return pcm
    start = max(0, int(loud[0]) - sample_rate * keep_ms // 1000)
    return samples[start:].tobytes()


def trim_trailing_silence(pcm: bytes, sample_rate: int, *, threshold: int = 300,
                          keep_ms: int = 80) -> bytes:
    """Drop a rendering's tail of silence past `keep_ms` (the last word's decay stays): a
    fixed line is often followed at once by the model's reply, and a synthesizer's ~300 ms
    tail is dead air a caller may take for their turn."""
    samples = np.frombuffer(pcm, dtype="<i2")
    loud = np.flatnonzero(np.abs(samples.astype(np.int32)) > threshold)
    if loud.size == 0:
        return pcm
    end = min(samples.size, int(loud[-1]) + 1 + sample_rate * keep_ms // 1000)
    return samples[:end].tobytes()


async def replayed(frames: Iterable[rtc.AudioFrame]) -> AsyncIterator[rtc.AudioFrame]:
    """Pre-rendered frames as the audio stream `AgentSession.say` takes."""
    for frame in frames:
        yield frame


def pcm16_to_frames(pcm: bytes, sample_rate: int, frame_ms: int = FRAME_MS) -> list[rtc.AudioFrame]:
    samples_per_frame = sample_rate * frame_ms // 1000
    bytes_per_frame = samples_per_frame * 2
    frames = []
    for offset in range(0, len(pcm), bytes_per_frame):
        chunk = pcm[offset: offset + bytes_per_frame]
        if len(chunk) < bytes_per_frame:
            chunk = chunk + b"\x00" * (bytes_per_frame - len(chunk))
        frames.append(rtc.AudioFrame(chunk, sample_rate, 1, samples_per_frame))
    return frames
