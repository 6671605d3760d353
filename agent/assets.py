"""What a job process prepares before any call: the playbook, Silero VAD, pre-rendered lines,
and the outside things (booking, SIP control, call record) the composition root picked."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from livekit import api, rtc
from livekit.agents import vad

from agent.config import WorkerSettings
from agent.instructions import opening_line
from agent.voice_cache import fixed_line_pcm
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


def greeting_text(playbook: Playbook) -> str:
    """The opening (greeting, AI disclosure, recording notice) and the first question."""
    first_field = next(iter(playbook.fields.values()))
    return f"{opening_line(playbook)} {first_field.ask}"


def prerendered_frames(text: str, settings: WorkerSettings) -> list[rtc.AudioFrame]:
    """A fixed line (from the playbook or the code, no caller data) in the model's voice, as
    the worker rendered it at start (`agent.fixed_lines`); espeak-ng if it could not. Its
    tail of silence is cut: what plays next (often the model's reply) follows without a gap."""
    pcm = trim_trailing_silence(fixed_line_pcm(settings, text), AGENT_SAMPLE_RATE)
    return pcm16_to_frames(pcm, AGENT_SAMPLE_RATE)
