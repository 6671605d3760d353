"""Silero VAD over caller audio without the plugin stream's per-frame overhead.

The plugin's stream asks livekit's FFI to resample every 20 ms frame (24 kHz to Silero's 16 kHz),
joins and copies frames into new `AudioFrame`s several times per 32 ms window, and hands each
window's inference to a thread pool, which wakes the event loop again when it is done. Measured
in `intake bench vad`, that costs about 0.045 cores per call, where the inference itself costs
0.004. This stream keeps the same model, session, thresholds and events (START_OF_SPEECH,
INFERENCE_DONE per window, END_OF_SPEECH, each with the plugin's fields and frames), and does
the rest with numpy on the loop: a linear-interpolation resampler behind a short low-pass (phone
audio has nothing above 4 kHz; the VAD needs no more), one buffer per stream, and the 0.12 ms
inference inline.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from livekit import rtc
from livekit.agents import utils, vad
from livekit.plugins.silero import onnx_model

from agent.speech_onset import OnsetDetector

OnsetCallback = Callable[[], None]

MODEL_RATE = 16000
WINDOW = 512  # Silero's window at 16 kHz: 32 ms
WINDOW_S = WINDOW / MODEL_RATE
INT16_SCALE = float(np.iinfo(np.int16).max)
# the plugin's probability smoothing
SMOOTHING_ALPHA = 0.35


@dataclass(frozen=True)
class LeanVADOptions:
    min_speech_duration: float
    min_silence_duration: float
    activation_threshold: float = 0.5
    deactivation_threshold: float | None = None  # None: activation - 0.15, as the plugin
    prefix_padding_duration: float = 0.5
    max_buffered_speech: float = 60.0

    @property
    def deactivation(self) -> float:
        if self.deactivation_threshold is not None:
            return self.deactivation_threshold
        return max(self.activation_threshold - 0.15, 0.01)


class LeanSileroVAD(vad.VAD):
    """One ONNX session per process; each stream keeps its own model state over it."""

    def __init__(self, options: LeanVADOptions) -> None:
        super().__init__(capabilities=vad.VADCapabilities(update_interval=WINDOW_S))
        self.options = options
        # one intra-op thread, sequential, no spinning: it starts no thread a fork would lose
        self._session = onnx_model.new_inference_session(force_cpu=True)

    @property
    def session(self) -> Any:
        """The process's ONNX session (onnxruntime's InferenceSession)."""
        return self._session

    @property
    def model(self) -> str:
        return "silero"

    @property
    def provider(self) -> str:
        return "ONNX"

    @property
    def min_silence_duration(self) -> float:
        return self.options.min_silence_duration

    def stream(self, *, on_onset: OnsetCallback | None = None,
               owner: vad.VAD | None = None) -> LeanVADStream:
        """`on_onset` hears the early cue (`agent.speech_onset`) while no speech is going on;
        `owner` gets the stream's metrics (a call's view of this VAD)."""
        model = onnx_model.OnnxModel(onnx_session=self._session, sample_rate=MODEL_RATE)
        return LeanVADStream(owner or self, self.options, model, on_onset)


class CallVAD(vad.VAD):
    """The process's VAD as one call sees it: its streams report the early onset cue to that
    call, and their metrics to this object (the call's session listens here)."""

    def __init__(self, process_vad: LeanSileroVAD, on_onset: OnsetCallback) -> None:
        super().__init__(capabilities=process_vad.capabilities)
        self._process_vad = process_vad
        self._on_onset = on_onset

    @property
    def model(self) -> str:
        return self._process_vad.model

    @property
    def provider(self) -> str:
        return self._process_vad.provider

    @property
    def min_silence_duration(self) -> float:
        return self._process_vad.min_silence_duration

    def stream(self) -> LeanVADStream:
        return self._process_vad.stream(on_onset=self._on_onset, owner=self)


def with_onset_cue(process_vad: vad.VAD, on_onset: OnsetCallback) -> vad.VAD:
    """The VAD a call's session gets: the lean one with the cue, any other as it is."""
    if isinstance(process_vad, LeanSileroVAD):
        return CallVAD(process_vad, on_onset)
    return process_vad


class Downsampler:
    """Any rate to 16 kHz by linear interpolation, with a [1/4, 1/2, 1/4] low-pass first when
    the input is faster; its state carries across frames so windows join without a seam."""

    def __init__(self, input_rate: int) -> None:
        self._step = input_rate / MODEL_RATE
        self._smooth = input_rate > MODEL_RATE
        self._tail = np.zeros(3, dtype=np.float32)  # the last three raw samples
        self._position = 0.0  # of the next output sample, in input samples from this frame

    def push(self, samples: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        if self._step == 1.0:
            return samples
        joined = np.concatenate((self._tail, samples))
        # signal[j] is input sample j - 2 of this frame (smoothed around it): the next output
        # can lie up to two samples back, between the last frame's final samples
        signal = (0.25 * joined[:-2] + 0.5 * joined[1:-1] + 0.25 * joined[2:] if self._smooth
                  else joined[1:])
        origin = -2.0
        self._tail = joined[-3:]
        last = origin + signal.size - 1  # the latest input position we can interpolate at
        if self._position > last:
            self._position -= samples.size
            return np.empty(0, dtype=np.float32)
        count = int((last - self._position) // self._step) + 1
        positions = self._position + self._step * np.arange(count)
        output: npt.NDArray[np.float32] = np.interp(
            positions - origin, np.arange(signal.size), signal).astype(np.float32)
        self._position += self._step * count - samples.size
        return output


class LeanVADStream(vad.VADStream):
    def __init__(self, owner: vad.VAD, options: LeanVADOptions,
                 model: onnx_model.OnnxModel, on_onset: OnsetCallback | None = None) -> None:
        self._options = options
        self._model = model
        self._on_onset = on_onset
        super().__init__(owner)

    @utils.log_exceptions()
    async def _main_task(self) -> None:
        state: _StreamState | None = None
        async for item in self._input_ch:
            if isinstance(item, self._FlushSentinel):
                if state is not None:
                    state = _StreamState(self._options, state.input_rate, self._on_onset)
                    self._model.reset()
                continue
            if state is None:
                state = _StreamState(self._options, item.sample_rate, self._on_onset)
            elif item.sample_rate != state.input_rate:
                continue  # the plugin drops these too: one stream, one rate
            for event in state.push(item, self._model):
                self._event_ch.send_nowait(event)


class _StreamState:
    """The plugin's speech/silence accounting over one stream's audio."""

    def __init__(self, options: LeanVADOptions, input_rate: int,
                 on_onset: OnsetCallback | None = None) -> None:
        self.options = options
        self.input_rate = input_rate
        self._onset = (OnsetDetector(input_rate), on_onset) if on_onset is not None else None
        self._downsampler = Downsampler(input_rate)
        self._smoothing = utils.ExpFilter(alpha=SMOOTHING_ALPHA)
        self._pending = np.empty(0, dtype=np.float32)  # 16 kHz samples not yet inferred
        self._raw = np.empty(0, dtype=np.int16)  # input samples not yet given to a window
        self._padding = int(options.prefix_padding_duration * input_rate)
        self._capacity = int(options.max_buffered_speech * input_rate) + self._padding
        # grown as an utterance needs it: a buffer of the full minute (2.9 MB at 24 kHz) made
        # zeroed up front cost every job process about that much resident memory
        self._buffer = np.empty(min(self._capacity, self._padding + 2 * input_rate),
                                dtype=np.int16)
        self._buffered = 0
        self._windows = 0
        self._raw_taken = 0
        self.speaking = False
        self._speech_s = self._silence_s = 0.0  # as published
        self._above_s = self._below_s = 0.0  # raw run of windows over / under the thresholds

    def push(self, frame: rtc.AudioFrame, model: onnx_model.OnnxModel) -> list[vad.VADEvent]:
        samples = np.frombuffer(frame.data, dtype=np.int16)
        if frame.num_channels > 1:
            samples = samples[::frame.num_channels]
        self._raw = np.concatenate((self._raw, samples))
        if self._onset is not None:
            detector, on_onset = self._onset
            if detector.push(samples) and not self.speaking:
                on_onset()  # before this frame's windows: a start they make confirms it
        scaled = samples.astype(np.float32) / INT16_SCALE
        self._pending = np.concatenate((self._pending, self._downsampler.push(scaled)))
        events: list[vad.VADEvent] = []
        while self._pending.size >= WINDOW:
            window, self._pending = self._pending[:WINDOW], self._pending[WINDOW:]
            started = time.perf_counter()
            probability = self._smoothing.apply(exp=1.0, sample=model(window))
            events += self._after_window(probability, time.perf_counter() - started)
        return events

    def _take_raw(self) -> npt.NDArray[np.int16]:
        """The input samples this window covers (no drift when the rates don't divide)."""
        self._windows += 1
        due = round(self._windows * WINDOW * self.input_rate / MODEL_RATE) - self._raw_taken
        taken, self._raw = self._raw[:due], self._raw[due:]
        self._raw_taken += taken.size
        if self._buffered + taken.size > self._buffer.size and self._buffer.size < self._capacity:
            grown = np.empty(min(self._capacity, 2 * self._buffer.size), dtype=np.int16)
            grown[:self._buffered] = self._buffer[:self._buffered]
            self._buffer = grown
        room = self._buffer.size - self._buffered
        if room > 0:
            kept = taken[:room]
            self._buffer[self._buffered:self._buffered + kept.size] = kept
            self._buffered += kept.size
        return taken

    def _after_window(self, probability: float, inference_s: float) -> list[vad.VADEvent]:
        options = self.options
        raw = self._take_raw()
        if self.speaking:
            self._speech_s += WINDOW_S
        else:
            self._silence_s += WINDOW_S
        events = [self._event(vad.VADEventType.INFERENCE_DONE, [self._frame(raw)],
                              probability=probability, inference_duration=inference_s,
                              raw_accumulated_silence=self._below_s,
                              raw_accumulated_speech=self._above_s)]
        if probability >= options.activation_threshold or (
                self.speaking and probability > options.deactivation):
            self._above_s += WINDOW_S
            self._below_s = 0.0
            if not self.speaking and self._above_s >= options.min_speech_duration:
                self.speaking = True
                self._silence_s, self._speech_s = 0.0, self._above_s
                events.append(self._event(vad.VADEventType.START_OF_SPEECH, [self._speech()]))
            return events
        self._below_s += WINDOW_S
        self._above_s = 0.0
        if self.speaking and self._below_s >= options.min_silence_duration:
            self.speaking = False
            self._silence_s = self._below_s
            spoken = max(0.0, self._speech_s - self._below_s)
            events.append(self._event(vad.VADEventType.END_OF_SPEECH, [self._speech()],
                                      speech_duration=spoken))
            self._speech_s = 0.0
        if not self.speaking:
            self._keep_only_padding()
        return events

    def _keep_only_padding(self) -> None:
        if self._buffered > self._padding:
            self._buffer[:self._padding] = self._buffer[self._buffered - self._padding:
                                                        self._buffered]
            self._buffered = self._padding

    def _speech(self) -> rtc.AudioFrame:
        return self._frame(self._buffer[:self._buffered])

    def _frame(self, samples: npt.NDArray[np.int16]) -> rtc.AudioFrame:
        return rtc.AudioFrame(samples.tobytes(), self.input_rate, 1, samples.size)

    def _event(self, kind: vad.VADEventType, frames: list[rtc.AudioFrame], *,
               probability: float = 0.0, inference_duration: float = 0.0,
               speech_duration: float | None = None, raw_accumulated_silence: float = 0.0,
               raw_accumulated_speech: float = 0.0) -> vad.VADEvent:
        return vad.VADEvent(
            type=kind, samples_index=self._windows * WINDOW,
            timestamp=self._windows * WINDOW_S,
            silence_duration=self._silence_s,
            speech_duration=self._speech_s if speech_duration is None else speech_duration,
            probability=probability, inference_duration=inference_duration, frames=frames,
            speaking=self.speaking, raw_accumulated_silence=raw_accumulated_silence,
            raw_accumulated_speech=raw_accumulated_speech)


def speech_onset_s(samples: npt.NDArray[np.int16], input_rate: int, options: LeanVADOptions,
                   model: onnx_model.OnnxModel, frame_samples: int) -> float | None:
    """Offline, as a call feeds the stream (frames of `frame_samples`): the stream time at the
    end of the frame after which speech starts, or None when it never does."""
    state = _StreamState(options, input_rate)
    for start in range(0, samples.size - frame_samples + 1, frame_samples):
        chunk = samples[start:start + frame_samples]
        frame = rtc.AudioFrame(chunk.tobytes(), input_rate, 1, chunk.size)
        if any(e.type == vad.VADEventType.START_OF_SPEECH for e in state.push(frame, model)):
            return (start + frame_samples) / input_rate
    return None

