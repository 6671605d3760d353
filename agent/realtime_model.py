"""The OpenAI Realtime model a call talks through, from the worker's settings.

Reasoning-capable models (gpt-realtime-2 and later) get `session.reasoning.effort`; older
ones are sent no reasoning field at all. The caller's speech is transcribed by
`settings.transcription_model` on each committed turn (the escalation guard and the record
read that transcript).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from livekit.agents import APIConnectOptions, llm, utils
from livekit.plugins import openai
from livekit.plugins.openai.realtime import RealtimeSession
from livekit.plugins.openai.realtime import realtime_model as realtime_api
from openai.types.realtime import AudioTranscription, RealtimeReasoning

from agent.call_metrics import count_reconnect
from agent.config import WorkerSettings
from agent.inbound_marks import InboundMarks
from agent.playout import stage_marks_enabled
from agent.realtime_wire import check_server_events
from agent.tool_output_push import send_tool_outputs_at_once
from agent.turn_taking import DEFAULT_ANSWER, TURN_SILENCE_MS, server_vad

REASONING_MODEL_PREFIX = "gpt-realtime-2"


def takes_reasoning(model: str) -> bool:
    return model.startswith(REASONING_MODEL_PREFIX)


# caller audio goes to the model in appends this long (the plugin's 100 ms held the end of
# the caller's speech back by up to 100 ms, 50 on average, before the server's VAD saw it)
INPUT_CHUNK_MS = 20


class MeteredRealtimeModel(openai.realtime.RealtimeModel):
    """Counts reconnects (the plugin reconnects a dropped session by itself and says so only
    on the session object, which the AgentSession keeps private), and drops server frames
    that would end the plugin's receive loop (`agent.realtime_wire`)."""

    def session(self, *, turn_detection_disabled: bool = False) -> RealtimeSession:
        realtime_session = super().session(turn_detection_disabled=turn_detection_disabled)
        realtime_session.on("session_reconnected", count_reconnect)
        check_server_events(realtime_session)
        return realtime_session


class PhoneRealtimeModel(MeteredRealtimeModel):
    """The plugin's model, with barge-in left to us (`agent.barge_in`).

    Caller audio is sent in `INPUT_CHUNK_MS` appends. The server keeps turn detection but
    never cancels a response on caller speech
    (`interrupt_response` off), and the framework is told the model tolerates overlapping
    speech, so neither cuts the agent at the server's speech start: a backchannel would be
    fatal. Our controller pauses on local VAD and interrupts only a real interruption.
    A tool's output and the reply after it go out without a round trip between
    (`agent.tool_output_push`).
    """

    @property
    def capabilities(self) -> llm.RealtimeCapabilities:
        return dataclasses.replace(super().capabilities, supports_overlapping_speech=True)

    def session(self, *, turn_detection_disabled: bool = False
                ) -> openai.realtime.RealtimeSession:
        session = super().session(turn_detection_disabled=turn_detection_disabled)
        # the plugin has no option for its input chunk; its byte stream is replaced before any
        # audio is pushed
        session._bstream = utils.audio.AudioByteStream(
            realtime_api.SAMPLE_RATE, realtime_api.NUM_CHANNELS,
            samples_per_channel=realtime_api.SAMPLE_RATE * INPUT_CHUNK_MS // 1000)
        send_tool_outputs_at_once(session)
        if stage_marks_enabled():
            InboundMarks().watch(session)
        return session


def build_realtime_model(settings: WorkerSettings) -> openai.realtime.RealtimeModel:
    kwargs: dict[str, Any] = {}
    if settings.openai_base_url:
        kwargs["base_url"] = settings.openai_base_url
    if takes_reasoning(settings.realtime_model):
        kwargs["reasoning"] = RealtimeReasoning(effort=settings.reasoning_effort)
    return PhoneRealtimeModel(
        model=settings.realtime_model,
        voice=settings.realtime_voice,
        api_key=settings.openai_api_key,
        # the opening window; each call then sizes it by what the agent asks (TurnTaking)
        turn_detection=server_vad(silence_ms=settings.turn_silence_ms
                                  or TURN_SILENCE_MS[DEFAULT_ANSWER], answering=True),
        input_audio_transcription=AudioTranscription(model=settings.transcription_model),
        conn_options=APIConnectOptions(max_retry=3, retry_interval=0.5, timeout=10.0),
        **kwargs,
    )


def configured_models(settings: WorkerSettings) -> dict[str, str]:
    """Every OpenAI model a call uses, with what for (the start-up check names them)."""
    models = {settings.realtime_model: "realtime",
              settings.transcription_model: "transcription"}
    if settings.supervisor_transcription_model:
        models.setdefault(settings.supervisor_transcription_model, "supervisor transcription")
    return models
