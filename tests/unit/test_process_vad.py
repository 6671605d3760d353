"""Silero's inference inline on the call's loop (agent.process_vad.InlineSileroVAD): the same
events as the plugin's own stream, and no window handed to a thread pool."""

from __future__ import annotations

import asyncio
import inspect
import re

import numpy as np
import numpy.typing as npt
import pytest
from livekit import rtc
from livekit.agents import vad
from livekit.plugins import silero

from agent.process_vad import InlineSileroVAD
from audio.speech import render_speech_pcm16

pytestmark = pytest.mark.unit

RATE = 24000  # what the room's audio input hands the session
SETTINGS = {"min_speech_duration": 0.03, "min_silence_duration": 0.3, "activation_threshold": 0.5}


def test_the_plugins_stream_reaches_its_loop_only_to_run_inference() -> None:
    """InlineSileroVAD swaps the stream's `_loop`: a plugin that used it for anything else (or
    stopped using it) must fail here, not on a call."""
    source = inspect.getsource(silero.VADStream)
    uses = re.findall(r"self\._loop\b[^\n]*", source)
    assert uses == ["self._loop = asyncio.get_event_loop()",
                    "self._loop.run_in_executor(None, self._model, inference_f32_data)"]


def _audio() -> npt.NDArray[np.int16]:
    quiet = np.zeros(RATE // 2, dtype=np.int16)
    words = np.frombuffer(render_speech_pcm16("Hello, is anybody there?", RATE, cache=True),
                          dtype=np.int16)
    return np.concatenate([quiet, words, quiet, quiet])


async def _events(model: vad.VAD, samples: npt.NDArray[np.int16]) -> list[vad.VADEventType]:
    stream = model.stream()
    step = RATE // 50
    for start in range(0, samples.size, step):
        chunk = samples[start:start + step]
        stream.push_frame(rtc.AudioFrame(chunk.tobytes(), RATE, 1, chunk.size))
    stream.end_input()
    kinds = [event.type async for event in stream
             if event.type != vad.VADEventType.INFERENCE_DONE]
    await stream.aclose()
    return kinds


async def test_inline_inference_hears_the_same_speech_and_uses_no_thread_pool() -> None:
    samples = _audio()
    loop = asyncio.get_running_loop()
    handed_off: list[object] = []
    real_run_in_executor = loop.run_in_executor

    def counting(executor: object, func: object, *args: object) -> object:
        handed_off.append(func)
        return real_run_in_executor(executor, func, *args)  # type: ignore[arg-type]

    loop.run_in_executor = counting  # type: ignore[method-assign,assignment]
    try:
        inline = await _events(InlineSileroVAD.load(**SETTINGS), samples)
        assert not handed_off
        pooled = await _events(silero.VAD.load(**SETTINGS), samples)
        assert handed_off  # the plugin's own stream does hand each window off
    finally:
        loop.run_in_executor = real_run_in_executor  # type: ignore[method-assign]
    assert inline == pooled == [vad.VADEventType.START_OF_SPEECH,
                                vad.VADEventType.END_OF_SPEECH]


async def test_an_inference_error_reaches_the_stream_as_the_pool_would_hand_it() -> None:
    from agent.process_vad import _InlineRunner

    def broken(_window: object) -> float:
        raise RuntimeError("onnx failed")

    future = _InlineRunner().run_in_executor(None, broken, None)
    with pytest.raises(RuntimeError, match="onnx failed"):
        await future
