"""What a job process prepares before any call: the playbook, Silero VAD, pre-rendered lines,
and the outside things (booking, SIP control, call record) the composition root picked."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from livekit import api, rtc
from livekit.agents import vad

from agent.config import WorkerSettings
from agent.instructions import opening_line
from agent.voice_cache import fixed_line_pcm, has_cached_line, realtime_voice, voice_cache_dir
from agent.warm_transfer import hold_chime
from audio.speech import pcm16_to_frames, trim_trailing_silence
from recording import RecordingStore
from sip.call_control import SipCallControl
from state.protocols import CallRecorder
from tools.booking import BookingBackend
from tools.playbook import Playbook

AGENT_SAMPLE_RATE = 24000
# Silero VAD reports the end of the caller's speech after this much silence
VAD_MIN_SILENCE_S = 0.3
VAD_MIN_SPEECH_S = 0.03
APOLOGY_TEXT = ("I'm sorry, I'm having trouble on my end. Someone from our team will call you "
                "back shortly. Goodbye.")

# a fixed line's frames by text and where its audio came from, built once per process
_FRAMES_BY_LINE: dict[tuple[str, str], list[rtc.AudioFrame]] = {}

Closer = Callable[[], Awaitable[None]]
# a call's recorder and what closes its client, opened once the caller is there
RecorderFactory = Callable[[], Awaitable[tuple[CallRecorder, Closer]]]
# SIP call control for one job, on that job's LiveKit API client
SipControlFactory = Callable[[api.LiveKitAPI], SipCallControl]
# one call's recording store (its client is closed when the call's recording is)
RecordingStoreFactory = Callable[[], RecordingStore]


@dataclass
class PrewarmedAssets:
    settings: WorkerSettings
    vad: vad.VAD
    playbook: Playbook
    greeting_text: str
    greeting_frames: list[rtc.AudioFrame]
    apology_frames: list[rtc.AudioFrame]
    booking: BookingBackend
    open_recorder: RecorderFactory
    sip_control: SipControlFactory
    # where this call's recording goes (folder or S3); None: calls are not recorded
    open_recording_store: RecordingStoreFactory | None = None
    # what the caller hears on hold during a warm transfer
    hold_message_frames: list[rtc.AudioFrame] = field(default_factory=list)
    hold_chime_frames: list[rtc.AudioFrame] = field(default_factory=hold_chime)
    # each escalation category's `say` line, by its text: the guard's line needs no model
    escalation_frames: dict[str, list[rtc.AudioFrame]] = field(default_factory=dict)
    # the playbook's goodbye (`call_limits.goodbye`): ending a call needs no model reply
    goodbye_frames: list[rtc.AudioFrame] = field(default_factory=list)


def greeting_text(playbook: Playbook) -> str:
    """The opening (greeting, AI disclosure, recording notice) and the first question."""
    first_field = next(iter(playbook.fields.values()))
    return f"{opening_line(playbook)} {first_field.ask}"


def prerendered_frames(text: str, settings: WorkerSettings) -> list[rtc.AudioFrame]:
    """A fixed line (from the playbook or the code, no caller data) in the model's voice, as
    the worker rendered it at start (`agent.fixed_lines`); espeak-ng if it could not. Its
    tail of silence is cut: what plays next (often the model's reply) follows without a gap.

    Built once per process and source: the forkserver builds the prewarm's lines
    (`agent.job_preload`), so job processes share those pages instead of ~2 MB each. Frames
    are only read after this (played, never written to)."""
    voice = realtime_voice(settings)
    in_voice = settings.fixed_lines_in_model_voice and has_cached_line(voice, text)
    # the cache folder is in the key too: espeak-ng's renderings are cached beside the voice's
    source = f"{voice.endpoint}|{voice.model}|{voice.voice}" if in_voice else "espeak"
    key = (text, f"{voice_cache_dir()}|{source}")
    frames = _FRAMES_BY_LINE.get(key)
    if frames is None:
        pcm = trim_trailing_silence(fixed_line_pcm(settings, text), AGENT_SAMPLE_RATE)
        frames = _FRAMES_BY_LINE[key] = pcm16_to_frames(pcm, AGENT_SAMPLE_RATE)
    return frames


def prewarm_line_texts(playbook: Playbook) -> list[str]:
    """The fixed lines every job process prepares before a call (`agent.composition`)."""
    return [greeting_text(playbook), APOLOGY_TEXT, playbook.transfer.hold_message,
            playbook.call_limits.goodbye,
            *(trigger.say for trigger in playbook.escalation.values())]
