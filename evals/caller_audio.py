"""What the eval caller sends: espeak speech, a WAV file of real caller audio, either with
line noise mixed in by sox; and a caller that presses DTMF keys and notices the agent leaving.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from livekit import rtc

from audio.room import frame_rms
from audio.speech import render_speech_pcm16, trim_leading_silence, trim_trailing_silence
from evals.case import PAUSE_MARK, EvalCase, NoiseKind
from simulated_caller import SimulatedCaller
from simulated_caller.caller import (
    FRAME_MS,
    SAMPLE_RATE,
    SAMPLES_PER_FRAME,
    SPEECH_RMS,
    AgentNotHeardError,
)

# noise around a noisy line, so it starts before the first word and outlasts the last
NOISE_PAD_MS = 300
# sox synth recipes: a car's low rumble; street noise (traffic hiss that swells and fades)
_NOISE_RECIPES: dict[NoiseKind, list[str]] = {
    "car": ["brownnoise", "lowpass", "500", "vol", "0.35"],
    "street": ["pinknoise", "bandpass", "1200", "1500", "tremolo", "0.7", "60", "vol", "0.08"],
}
# DTMF: RFC 4733 event codes are the digit itself, * = 10, # = 11
_DTMF_CODES = {**{str(d): d for d in range(10)}, "*": 10, "#": 11}
DTMF_GAP_S = 0.15


class AudioPrepError(RuntimeError):
    pass


def _sox() -> str:
    sox = shutil.which("sox")
    if sox is None:
        raise AudioPrepError("sox not found; run scripts/bootstrap")
    return sox


def _run_sox(args: list[str], *, stdin: bytes | None = None) -> bytes:
    result = subprocess.run([_sox(), *args], input=stdin, capture_output=True, check=False,
                            timeout=60)
    if result.returncode != 0:
        raise AudioPrepError(f"sox failed: {result.stderr.decode(errors='replace')[:300]}")
    return result.stdout


_RAW = ["-t", "raw", "-r", str(SAMPLE_RATE), "-c", "1", "-b", "16", "-e", "signed-integer"]


def wav_to_pcm16(path: Path) -> bytes:
    """A WAV file as mono PCM16 at the caller's sample rate (sox converts and resamples)."""
    return _run_sox([str(path), *_RAW, "-"])


def mix_noise(speech: bytes, kind: NoiseKind) -> bytes:
    """`speech` with line noise under it, padded with noise before and after."""
    pad = np.zeros(SAMPLE_RATE * NOISE_PAD_MS // 1000, dtype="<i2").tobytes()
    padded = pad + speech + pad
    seconds = len(padded) / 2 / SAMPLE_RATE
    with tempfile.TemporaryDirectory(prefix="eval-noise-") as tmp:
        speech_path = Path(tmp) / "speech.raw"
        speech_path.write_bytes(padded)
        noise_path = Path(tmp) / "noise.wav"
        _run_sox(["-n", "-r", str(SAMPLE_RATE), "-c", "1", "-b", "16", str(noise_path),
                  "synth", f"{seconds:.3f}", *_NOISE_RECIPES[kind]])
        # -v 1 on each input: mix at full level (sox -m otherwise halves both)
        return _run_sox(["-m", "-v", "1", *_RAW, str(speech_path), "-v", "1", str(noise_path),
                         *_RAW, "-"])


def voiced_flags(clean: bytes, total_frames: int, offset_frames: int = 0) -> list[bool]:
    """Per 10 ms frame of the sent audio: is the caller speaking (from the clean speech, so
    noise never counts as speech in the caller's own timings)."""
    step = SAMPLES_PER_FRAME * 2
    flags = [False] * total_frames
    for i in range(0, len(clean), step):
        index = offset_frames + i // step
        if index < total_frames:
            flags[index] = frame_rms(clean[i: i + step]) >= SPEECH_RMS
    return flags


def pausing_speech(line: str, pause_ms: int) -> bytes:
    """The line spoken in parts, with `pause_ms` of silence at each "..." (espeak's own
    silence around each part is trimmed; only the last word's 80 ms decay adds to a pause)."""
    parts = [p.strip() for p in line.split(PAUSE_MARK) if p.strip(" ,.")]
    gap = bytes(SAMPLE_RATE * pause_ms // 1000 * 2)
    spoken = []
    for part in parts:
        pcm = render_speech_pcm16(part, SAMPLE_RATE, cache=True)
        pcm = trim_trailing_silence(trim_leading_silence(pcm, SAMPLE_RATE), SAMPLE_RATE)
        spoken.append(pcm)
    return gap.join(spoken)


class LineAudio:
    """Audio for one caller line: what is sent and which frames are speech."""

    def __init__(self, pcm: bytes, voiced: list[bool]) -> None:
        self.pcm = pcm
        self.voiced = voiced


def prepare_line_audio(case: EvalCase) -> dict[int, LineAudio]:
    """Audio for every turn that is not plain espeak, keyed by the turn's index."""
    out: dict[int, LineAudio] = {}
    step = SAMPLES_PER_FRAME * 2
    for index, (turn, extra) in enumerate(zip(case.scenario.turns, case.extras, strict=True)):
        if turn.caller is None or (extra.audio is None and extra.noise is None
                                   and extra.pause_ms is None):
            continue
        audio_path = case.audio_path(index)
        if audio_path is not None:
            clean = wav_to_pcm16(audio_path)
        elif extra.pause_ms is not None:
            clean = pausing_speech(turn.caller, extra.pause_ms)
        else:
            clean = render_speech_pcm16(turn.caller, SAMPLE_RATE, cache=True)
        if extra.noise is None:
            frames = -(-len(clean) // step)
            out[index] = LineAudio(clean, voiced_flags(clean, frames))
            continue
        sent = mix_noise(clean, extra.noise)
        frames = -(-len(sent) // step)
        out[index] = LineAudio(sent, voiced_flags(clean, frames, NOISE_PAD_MS // FRAME_MS))
    return out


class EvalCaller(SimulatedCaller):
    """The simulated caller, with per-line audio, DTMF keys before a line, and a hang-up wait
    that ends when the agent has left (an agent that hangs up ends the call)."""

    def __init__(self, url: str, token: str, case: EvalCase, lines: Any,
                 audio: Mapping[int, LineAudio], **kwargs: Any) -> None:
        super().__init__(url, token, lines, before_line=self._before, **kwargs)
        self._case = case
        self._audio = dict(audio)
        self._line_index = 0
        self.agent_gone = asyncio.Event()
        self.dtmf_sent: list[str] = []

    async def connect(self) -> None:
        self.room.on("disconnected", lambda *_: self.agent_gone.set())
        self.room.on("participant_disconnected", self._on_left)
        await super().connect()

    def _on_left(self, participant: rtc.RemoteParticipant) -> None:
        if participant.kind == rtc.ParticipantKind.PARTICIPANT_KIND_AGENT:
            self.agent_gone.set()

    async def _before(self, index: int, _caller: SimulatedCaller) -> None:
        self._line_index = index
        keys = self._case.extras[index].dtmf
        if keys is None or self.agent_gone.is_set():
            return
        # keys go out once the agent has finished talking, as a person presses them
        await self._wait_quiet(0.6, 30.0)
        for key in keys:
            await self.room.local_participant.publish_dtmf(code=_DTMF_CODES[key], digit=key)
            self.dtmf_sent.append(key)
            await asyncio.sleep(DTMF_GAP_S)

    async def _wait_quiet(self, seconds: float, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not self._quiet_for(seconds):
            if self.agent_gone.is_set():
                return
            if time.monotonic() > deadline:
                raise AgentNotHeardError("agent never went quiet")
            await asyncio.sleep(0.01)

    async def say(self, text: str) -> tuple[float, float]:
        line = self._audio.get(self._line_index)
        if line is None:
            return await super().say(text)
        # the same queueing as SimulatedCaller.say, with this line's audio and speech flags
        self._speech_first_frame_at = None
        self._speech_last_frame_at = None
        self._speech_done.clear()
        step = SAMPLES_PER_FRAME * 2
        for i, offset in enumerate(range(0, len(line.pcm), step)):
            chunk = line.pcm[offset: offset + step].ljust(step, b"\x00")
            self._outgoing.put_nowait((rtc.AudioFrame(chunk, SAMPLE_RATE, 1, SAMPLES_PER_FRAME),
                                       line.voiced[i] if i < len(line.voiced) else False))
        await self._speech_done.wait()
        if self._speech_first_frame_at is None or self._speech_last_frame_at is None:
            now = time.monotonic()
            return now, now
        return self._speech_first_frame_at, self._speech_last_frame_at + FRAME_MS / 1000
