"""The worker's composition root: the one place that picks each outside thing's implementation.

Live call state and the record: Redis through `state.recorder.RedisCallRecorder` (Postgres
behind it, via the worker's record writer), or in memory when no Redis is configured. Booking:
`agent.config.booking_backend_for` (the business's HTTP API, callback requests, or the local
backend outside production). SIP control: LiveKit's SIP service. The rest of
the agent sees only the Protocols (`state.protocols`, `tools.booking`, `sip.call_control`).
"""

from __future__ import annotations

import logging

from livekit import api
from livekit.agents import vad

from agent.assets import (
    APOLOGY_TEXT,
    Closer,
    PrewarmedAssets,
    RecorderFactory,
    RecordingStoreFactory,
    SipControlFactory,
    greeting_text,
    prerendered_frames,
    prewarm_line_texts,
)
from agent.call_metrics import MeteredCallRecorder
from agent.config import WorkerSettings, booking_backend_for
from agent.voice_cache import has_cached_line, realtime_voice
from recording.config import recording_store
from sip.call_control import SipCallControl
from sip.livekit_call_control import LiveKitSipCallControl
from state.protocols import CallRecorder
from state.recorder import InMemoryCallRecorder, RedisCallRecorder
from state.redis_live import RedisLiveState, connect_redis
from tools.escalation import EscalationGuard
from tools.playbook import Playbook, load_playbook

logger = logging.getLogger("intake.composition")


def recorder_factory(settings: WorkerSettings) -> RecorderFactory:
    async def open_recorder() -> tuple[CallRecorder, Closer]:
        if not settings.redis_url:
            logger.warning("INTAKE_REDIS_URL is not set: this call's record lives in memory only")

            async def close_nothing() -> None:
                return None

            return MeteredCallRecorder(InMemoryCallRecorder()), close_nothing
        client = connect_redis(settings.redis_url)

        async def close_client() -> None:
            await client.aclose()

        return MeteredCallRecorder(RedisCallRecorder(RedisLiveState(client))), close_client

    return open_recorder


def sip_control_factory(settings: WorkerSettings) -> SipControlFactory:
    def for_job(lk: api.LiveKitAPI) -> SipCallControl:
        return LiveKitSipCallControl(lk, trunk_id=settings.sip_outbound_trunk_id,
                                     resource_name=settings.sip_resource_name)

    return for_job


def prewarm_assets(settings: WorkerSettings, vad_model: vad.VAD) -> PrewarmedAssets:
    playbook = load_playbook(settings.playbook_path)
    # loads the lemmatizer's dictionary (~0.1 s) here rather than in the first call's set-up
    EscalationGuard.from_playbook(playbook)
    text = greeting_text(playbook)
    _log_fixed_line_voice(settings, prewarm_line_texts(playbook))
    return PrewarmedAssets(
        settings=settings,
        vad=vad_model,
        playbook=playbook,
        greeting_text=text,
        greeting_frames=prerendered_frames(text, settings),
        apology_frames=prerendered_frames(APOLOGY_TEXT, settings),
        hold_message_frames=prerendered_frames(playbook.transfer.hold_message, settings),
        escalation_frames={trigger.say: prerendered_frames(trigger.say, settings)
                           for trigger in playbook.escalation.values()},
        goodbye_frames=prerendered_frames(playbook.call_limits.goodbye, settings),
        # production never confirms a booking from memory (agent.config.booking_backend_for)
        booking=booking_backend_for(settings, playbook),
        open_recorder=recorder_factory(settings),
        sip_control=sip_control_factory(settings),
        open_recording_store=recording_store_factory(playbook),
    )


def _log_fixed_line_voice(settings: WorkerSettings, lines: list[str]) -> None:
    """How many of this process's fixed lines are in the model's voice (the rest: espeak-ng,
    as the worker's start logged)."""
    voice = realtime_voice(settings)
    in_voice = (sum(1 for line in dict.fromkeys(lines) if has_cached_line(voice, line))
                if settings.fixed_lines_in_model_voice else 0)
    logger.info("fixed lines loaded", extra={"lines": len(set(lines)),
                                             "in_model_voice": in_voice})


def recording_store_factory(playbook: Playbook) -> RecordingStoreFactory | None:
    """The recording store from INTAKE_RECORDING_* (a folder by default), checked now so a bad
    setting stops the worker at start-up; None when the playbook turns recording off."""
    if not playbook.recording.enabled:
        return None
    recording_store()  # a bad setting raises RecordingConfigError here, at start-up
    return recording_store
