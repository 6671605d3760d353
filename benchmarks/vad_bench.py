"""`intake bench vad`: the CPU one call's local Silero VAD costs in the worker.

Caller-like audio (espeak phrases between pauses, 24 kHz, 20 ms frames as the room delivers
them) is pushed in real time into the worker's Silero stream (`agent.process_vad`), and the
same loop runs again pushing into nothing; the difference in the whole process's CPU (every
thread) is the VAD's, per call minute. The ONNX inference alone is timed apart, per 32 ms
window, so the stream's own overhead (resampling, frame copies, events) shows.
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

from agent.process_vad import process_vad
from audio.speech import render_speech_pcm16

RATE = 24000
FRAME_S = 0.02
PHRASES = ("Hi, my water heater is leaking in the basement.",
           "It's forty two Elm Street in Round Rock.", "Yes, that's right.",
           "Could someone come out tomorrow morning?", "Mm-hm.", "Thanks, goodbye.")
INFERENCE_ROUNDS = 2000


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


def inference_ms_per_window(model: vad.VAD) -> float:
    """The ONNX session alone on one 32 ms window at 16 kHz, as the stream calls it."""
    from livekit.plugins.silero import onnx_model

    assert isinstance(model, silero.VAD)
    session = onnx_model.OnnxModel(onnx_session=model._onnx_session, sample_rate=16000)
    window = np.random.default_rng(1).normal(0, 0.1, 512).astype(np.float32)
    for _ in range(50):
        session(window)
    started = time.process_time()
    for _ in range(INFERENCE_ROUNDS):
        session(window)
    return (time.process_time() - started) * 1000 / INFERENCE_ROUNDS


async def run_vad_benchmark(seconds: float, rounds: int) -> dict[str, Any]:
    samples = caller_audio(seconds)
    model = process_vad()
    cpu: dict[str, list[float]] = {"vad_stream": [], "pacing_only": []}
    events: list[str] = []
    for _ in range(rounds):
        used, events = await _run(model, samples)
        cpu["vad_stream"].append(used)
        cpu["pacing_only"].append((await _run(None, samples))[0])
    inference_ms = inference_ms_per_window(model)
    windows_per_second = 16000 / 512
    return {
        "call_seconds": seconds, "rounds": rounds,
        "cpu_ms_per_call_minute": {name: [round(v * 60_000 / seconds, 1) for v in values]
                                   for name, values in cpu.items()},
        "vad_cores_per_call": round((min(cpu["vad_stream"]) - min(cpu["pacing_only"]))
                                    / seconds, 4),
        "inference_ms_per_window": round(inference_ms, 3),
        "inference_cores_per_call": round(inference_ms * windows_per_second / 1000, 4),
        "speech_events": len(events),
    }
