"""One Silero model per process image.

The forkserver loads it (`agent.job_preload`) and every job process forks with it: Silero's
ONNX session costs ~24 MB of RSS when a process loads its own. The session runs single-threaded
(one intra-op and one inter-op thread, sequential), so it starts no thread that a fork would
lose. Each call's stream keeps its own state over the shared session, so calls run as threads
(INTAKE_JOB_EXECUTOR=thread) share one model too.

Each 32 ms window's inference runs inline on the call's event loop (`InlineSileroVAD`): the
plugin hands every window to the loop's default thread pool, and that hand-off (submit, the
worker thread's wake-up, the loop's self-pipe wake-up) cost more of the job's CPU than the
inference itself, about 0.3 ms of ONNX on one thread.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from livekit.agents import vad
from livekit.plugins import silero

from agent.assets import VAD_MIN_SILENCE_S, VAD_MIN_SPEECH_S

_T = TypeVar("_T")

_VAD: vad.VAD | None = None
_VAD_LOCK = threading.Lock()


def process_vad() -> vad.VAD:
    global _VAD
    with _VAD_LOCK:
        if _VAD is None:
            _VAD = InlineSileroVAD.load(
                # one 32 ms Silero window over the threshold pauses the agent (two, at 0.05, let
                # the caller talk ~30 ms longer over it); a false onset only pauses, then resumes
                min_speech_duration=VAD_MIN_SPEECH_S,
                min_silence_duration=VAD_MIN_SILENCE_S,
                activation_threshold=0.5,
            )
        return _VAD


class InlineSileroVAD(silero.VAD):
    """Silero whose streams run each window's inference on their own event loop."""

    def stream(self) -> silero.VADStream:
        stream = super().stream()
        # the plugin's stream reaches its loop only for `run_in_executor` (1.8.x); checked by
        # tests/unit/test_process_vad.py against the installed plugin
        stream._loop = _InlineRunner()  # type: ignore[assignment]
        return stream


class _InlineRunner:
    """Stands in for the loop in the stream's `run_in_executor(None, model, window)`: runs the
    call now and returns a finished future, which `await` reads without yielding."""

    def run_in_executor(self, executor: object, func: Callable[..., _T],
                        *args: Any) -> asyncio.Future[_T]:
        future: asyncio.Future[_T] = asyncio.get_running_loop().create_future()
        try:
            future.set_result(func(*args))
        except Exception as exc:  # handed to the awaiting stream, as a pool would
            future.set_exception(exc)
        return future
