"""`intake bench vad`: the CPU one call's local Silero VAD costs in the worker.

Caller-like audio (espeak phrases between pauses, 24 kHz, 20 ms frames as the room delivers
them) is pushed in real time into the worker's stream (`agent.process_vad`, the lean one), into
the Silero plugin's own stream with the same settings, and into nothing, in turn; the
difference in the whole process's CPU (every thread) from pushing into nothing is each stream's,
per call minute. The ONNX inference alone is timed apart, per 32 ms window, back to back (warm
caches) and once every 32 ms as in a call (cold), so the streams' own overhead shows.

It also reports how much of each barge-in line of the latency benchmark's scenario the worker's
stream hears before speech starts (the pause of barge-in waits for that): from the line's first
loud sample to the end of the 20 ms frame after which the stream starts speech, at three frame
phases, since a line starts anywhere in a frame; and when the early cue (`agent.speech_onset`)
pauses the agent on the same line, measured the same way (`barge_in_cue_ms`).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import numpy as np
import numpy.typing as npt
from livekit import rtc
from livekit.agents import vad
from livekit.plugins import silero

from agent.assets import VAD_MIN_SILENCE_S, VAD_MIN_SPEECH_S
from agent.lean_vad import LeanSileroVAD, speech_onset_s
from agent.process_vad import process_vad
from agent.speech_onset import OnsetDetector
from audio.speech import render_speech_pcm16

RATE = 24000
FRAME_S = 0.02
PHRASES = ("Hi, my water heater is leaking in the basement.",
           "It's forty two Elm Street in Round Rock.", "Yes, that's right.",
           "Could someone come out tomorrow morning?", "Mm-hm.", "Thanks, goodbye.")
INFERENCE_ROUNDS = 2000
LOUD = 300  # the latency benchmark's "loud" sample level


def caller_audio(seconds: float) -> npt.NDArray[np.int16]:
    """Phrases with 1.5 s pauses, repeated up to `seconds`."""
    pause = np.zeros(int(1.5 * RATE), dtype=np.int16)
    parts: list[npt.NDArray[np.int16]] = []
    total = 0
    while total < seconds * RATE:
        for phrase in PHRASES:
            words = np.frombuffer(render_speech_pcm16(phrase, RATE, cache=True), dtype=np.int16)
            parts += [words, pause]
            total += words.size + pause.size
    return np.concatenate(parts)[:int(seconds * RATE)]


async def _run(model: vad.VAD | None, samples: npt.NDArray[np.int16],
               ) -> tuple[float, list[str]]:
    """CPU seconds of the process while `samples` are pushed in real time (into a stream of
    `model`, or into nothing), and the speech events heard."""
    stream = model.stream() if model is not None else None
    kinds: list[str] = []

    async def read() -> None:
        if stream is not None:
            async for event in stream:
                if event.type != vad.VADEventType.INFERENCE_DONE:
                    kinds.append(event.type.value)

    reader = asyncio.create_task(read())
    step = int(RATE * FRAME_S)
    cpu_start, started = time.process_time(), time.monotonic()
    for index, start in enumerate(range(0, samples.size, step)):
        chunk = samples[start:start + step]
        frame = rtc.AudioFrame(chunk.tobytes(), RATE, 1, chunk.size)
        if stream is not None:
            stream.push_frame(frame)
        await asyncio.sleep(max(0.0, started + (index + 1) * FRAME_S - time.monotonic()))
    if stream is not None:
        stream.end_input()
    await reader
    cpu = time.process_time() - cpu_start
    if stream is not None:
        await stream.aclose()
    return cpu, kinds


def inference_ms_per_window(paced: bool) -> float:
    """The ONNX session alone on one 32 ms window at 16 kHz: back to back, or one window every
    32 ms as a call runs it (its weights have left the caches by then)."""
    from livekit.plugins.silero import onnx_model

    session = onnx_model.OnnxModel(onnx_session=onnx_model.new_inference_session(True),
                                   sample_rate=16000)
    window = np.random.default_rng(1).normal(0, 0.1, 512).astype(np.float32)
    for _ in range(50):
        session(window)
    used = 0.0
    rounds = INFERENCE_ROUNDS // 10 if paced else INFERENCE_ROUNDS
    for _ in range(rounds):
        if paced:
            time.sleep(0.032)
        started = time.process_time()
        session(window)
        used += time.process_time() - started
    return used * 1000 / rounds


def barge_in_lines() -> list[str]:
    """The caller lines the latency benchmark says over the agent."""
    from benchmarks.latency import LATENCY_SCENARIO
    from realtime_simulator import load_scenario

    return [t.caller for t in load_scenario(LATENCY_SCENARIO).turns
            if t.caller is not None and t.barge_in_after_ms is not None]


def _phased(text: str) -> list[tuple[npt.NDArray[np.int16], int]]:
    """The line after half a second of silence (as between turns), at frame phases 0, 1/3 and
    2/3, each with the sample of its first loud sample."""
    words = np.frombuffer(render_speech_pcm16(text, RATE, cache=True), dtype=np.int16)
    first_loud = int(np.flatnonzero(np.abs(words.astype(np.int32)) > LOUD)[0])
    step = int(RATE * FRAME_S)
    phased = []
    for phase in (0, step // 3, 2 * step // 3):
        lead = RATE // 2 + phase
        audio = np.concatenate((np.zeros(lead, np.int16), words, np.zeros(RATE // 2, np.int16)))
        phased.append((audio, lead + first_loud))
    return phased


def onset_ms(text: str, vad_model: LeanSileroVAD) -> list[float | None]:
    """Ms of `text` the stream hears before speech starts, at frame phases 0, 1/3 and 2/3."""
    from livekit.plugins.silero import onnx_model

    heard: list[float | None] = []
    for audio, first_loud in _phased(text):
        model = onnx_model.OnnxModel(onnx_session=vad_model.session, sample_rate=16000)
        onset = speech_onset_s(audio, RATE, vad_model.options, model, int(RATE * FRAME_S))
        heard.append(None if onset is None else round((onset * RATE - first_loud) * 1000
                                                      / RATE, 1))
    return heard


def cue_ms(text: str) -> list[float | None]:
    """Ms of `text` heard before the early cue pauses the agent, as `onset_ms` measures."""
    step = int(RATE * FRAME_S)
    heard: list[float | None] = []
    for audio, first_loud in _phased(text):
        detector = OnsetDetector(RATE)
        cued = next((start + step for start in range(0, audio.size - step + 1, step)
                     if detector.push(audio[start:start + step])), None)
        heard.append(None if cued is None else round((cued - first_loud) * 1000 / RATE, 1))
    return heard


async def run_vad_benchmark(seconds: float, rounds: int) -> dict[str, Any]:
    samples = caller_audio(seconds)
    streams: dict[str, vad.VAD | None] = {
        "lean_stream": process_vad(),
        "plugin_stream": silero.VAD.load(min_speech_duration=VAD_MIN_SPEECH_S,
                                         min_silence_duration=VAD_MIN_SILENCE_S,
                                         activation_threshold=0.5),
        "pacing_only": None,
    }
    cpu: dict[str, list[float]] = {name: [] for name in streams}
    events: dict[str, list[str]] = {}
    for _ in range(rounds):
        for name, model in streams.items():  # alternated: drift hits each alike
            used, events[name] = await _run(model, samples)
            cpu[name].append(used)
    windows_per_second = 16000 / 512
    warm, cold = inference_ms_per_window(False), inference_ms_per_window(True)
    return {
        "call_seconds": seconds, "rounds": rounds,
        "cpu_ms_per_call_minute": {name: [round(v * 60_000 / seconds, 1) for v in values]
                                   for name, values in cpu.items()},
        "cores_per_call": {name: round((min(cpu[name]) - min(cpu["pacing_only"])) / seconds, 4)
                           for name in ("lean_stream", "plugin_stream")},
        "inference_ms_per_window": {"back_to_back": round(warm, 3), "paced": round(cold, 3)},
        "inference_cores_per_call": round(cold * windows_per_second / 1000, 4),
        "speech_events": {name: len(events[name]) for name in ("lean_stream", "plugin_stream")},
        "barge_in_onset_ms": barge_in_onsets(),
        "barge_in_cue_ms": {line: cue_ms(line) for line in barge_in_lines()},
    }


def barge_in_onsets() -> dict[str, list[float | None]]:
    vad_model = process_vad()
    assert isinstance(vad_model, LeanSileroVAD)
    return {line: onset_ms(line, vad_model) for line in barge_in_lines()}
