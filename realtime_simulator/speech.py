"""Text to PCM16 mono speech with espeak-ng, resampled to the rate the caller needs.

espeak-ng is used because it is small, offline and deterministic; the audio only has to be
speech-like enough for energy-based (and Silero) voice activity detection, not pleasant.
"""

from __future__ import annotations

import functools
import shutil
import struct
import subprocess

import numpy as np

ESPEAK_BINARY = "espeak-ng"
_SYNTH_TIMEOUT_S = 30.0


class SpeechSynthesisError(RuntimeError):
    """espeak-ng is missing or produced something that is not PCM16 WAV."""


def synthesize_pcm16(text: str, sample_rate: int, *, voice: str = "en-us") -> bytes:
    """Speak ``text`` as little-endian PCM16 mono at ``sample_rate`` Hz.

    Results are cached by (text, sample_rate, voice); the returned bytes are immutable, so
    callers may share them freely.
    """
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
    if shutil.which(ESPEAK_BINARY) is None:
        raise SpeechSynthesisError("espeak-ng is not installed")
    # Text goes through stdin so that text starting with "-" is never read as an option.
    proc = subprocess.run(
        [ESPEAK_BINARY, "--stdout", "--stdin", "-v", voice],
        input=text.encode("utf-8"),
        capture_output=True,
        timeout=_SYNTH_TIMEOUT_S,
        check=False,
    )
    if proc.returncode != 0:
        raise SpeechSynthesisError("espeak-ng failed")
    src_rate, channels, samples = _parse_wav_pcm16(proc.stdout)
    if channels > 1:
        samples = samples.reshape(-1, channels).mean(axis=1).astype(np.int16)
    return _resample(samples, src_rate, sample_rate).tobytes()


def _parse_wav_pcm16(data: bytes) -> tuple[int, int, np.ndarray]:
    """Parse a RIFF/WAVE PCM16 stream.

    Written by hand rather than with the ``wave`` module because espeak-ng writing to a pipe
    cannot seek back, so its RIFF and data chunk sizes are placeholders; the data chunk runs
    to the end of the stream.
    """
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise SpeechSynthesisError("espeak-ng output is not WAV")
    pos = 12
    rate = 0
    channels = 0
    while pos + 8 <= len(data):
        chunk_id = data[pos : pos + 4]
        (size,) = struct.unpack_from("<I", data, pos + 4)
        body = pos + 8
        if chunk_id == b"fmt ":
            fmt, channels, rate = struct.unpack_from("<HHI", data, body)
            (bits,) = struct.unpack_from("<H", data, body + 14)
            if fmt != 1 or bits != 16:
                raise SpeechSynthesisError("espeak-ng output is not PCM16")
        elif chunk_id == b"data":
            if rate == 0 or channels == 0:
                raise SpeechSynthesisError("WAV data chunk before fmt chunk")
            end = min(len(data), body + size)
            end -= (end - body) % (2 * channels)
            return rate, channels, np.frombuffer(data[body:end], dtype="<i2")
        pos = body + size + (size & 1)
    raise SpeechSynthesisError("WAV stream has no data chunk")


def _resample(samples: np.ndarray, src_rate: int, dst_rate: int) -> np.ndarray:
    """Linear-interpolation resampling: adequate for synthetic test speech, where the
    energy envelope matters and fidelity does not."""
    if src_rate == dst_rate or samples.size == 0:
        return samples.astype("<i2")
    n_out = round(samples.size * dst_rate / src_rate)
    src_t = np.arange(samples.size, dtype=np.float64) / src_rate
    dst_t = np.arange(n_out, dtype=np.float64) / dst_rate
    out = np.interp(dst_t, src_t, samples.astype(np.float64))
    return np.clip(np.round(out), -32768, 32767).astype("<i2")
