"""One Silero model per process image.

The forkserver loads it (`agent.job_preload`) and every job process forks with it: Silero's
ONNX session costs ~24 MB of RSS when a process loads its own. The session runs single-threaded
(one intra-op and one inter-op thread, sequential), so it starts no thread that a fork would
lose. Each call's stream keeps its own state over the shared session, so calls run as threads
(INTAKE_JOB_EXECUTOR=thread) share one model too. The streams are `agent.lean_vad`'s: the
plugin's model and events without its per-frame overhead.
"""

from __future__ import annotations

import threading

from livekit.agents import vad

from agent.assets import VAD_MIN_SILENCE_S, VAD_MIN_SPEECH_S
from agent.lean_vad import LeanSileroVAD, LeanVADOptions

_VAD: vad.VAD | None = None
_VAD_LOCK = threading.Lock()


def process_vad() -> vad.VAD:
    global _VAD
    with _VAD_LOCK:
        if _VAD is None:
            _VAD = LeanSileroVAD(LeanVADOptions(
                # one 32 ms Silero window over the threshold pauses the agent (two, at 0.05, let
                # the caller talk ~30 ms longer over it); a false onset only pauses, then resumes
                min_speech_duration=VAD_MIN_SPEECH_S,
                min_silence_duration=VAD_MIN_SILENCE_S,
                activation_threshold=0.5,
            ))
        return _VAD
