"""One call, from the caller joining to the record being safe: the coordinator.

It sets the call up and hands each concern to its own part, all sharing one `CallRuntime`:
`SessionEventMapper` (events into the record, barge-in, the guard), `HandoffRouter` (warm, cold,
callback), `DtmfInput`, the limit timers (`limit_actions`) and `CallEnding` (goodbye, apology,
the outcome stored once).

Latency budget: the greeting is pre-rendered audio played the moment the caller can hear us, so
it never waits on the Realtime connection. Barge-in is local: Silero VAD on the caller's audio
interrupts agent playout at once, without waiting for the model's own speech detection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime
from functools import partial

from livekit import rtc
from livekit.agents import AgentSession, AutoSubscribe, JobContext, llm, room_io
from openai.types.realtime.realtime_audio_input_turn_detection import ServerVad

from agent import playout
from agent.assets import PrewarmedAssets, prerendered_frames
from agent.call_ending import CallEnding
from agent.call_metrics import CallMetricsObserver
from agent.call_recording import CallRecording, open_call_recording
from agent.call_runtime import CallRuntime
from agent.config import input_auto_gain
from agent.dtmf_input import DtmfInput
from agent.handoff import HandoffRouter
from agent.intake_agent import IntakeAgent
from agent.job_metadata import call_id_for, lease_owner, parse_job_metadata
from agent.lean_vad import with_onset_cue
from agent.limit_actions import start_call_timers
from agent.outbound import OutboundDialer, PersonOnTheLine, is_outbound_call, record_metadata
from agent.realtime_model import build_realtime_model
from agent.resume import restore_call
from agent.session_events import SessionEventMapper
from agent.supervision import SupervisionDesk
from agent.turn_taking import TurnTaking
from audio.room import subscribe_audio, wait_until_heard
from state.protocols import CallInfo
from tools.context import IntakeUserdata

logger = logging.getLogger("intake.call")

# caller audio reaches Silero VAD in frames this long (the default 50 ms delays barge-in)
INPUT_FRAME_MS = 20
CALLER_AUDIO_TIMEOUT_S = 10.0
# the recording part is opened while the session starts; the greeting waits at most this long
RECORDING_OPEN_WAIT_S = 0.25
# tool calls in a row within one caller turn: a caller who gives every detail in one breath
# needs one record_field per field (livekit-agents' default of 3 dropped the rest)
MAX_TOOL_STEPS = 12


class CallSession:
    def __init__(self, ctx: JobContext, assets: PrewarmedAssets) -> None:
        metadata = parse_job_metadata(ctx.job.metadata)
        self._rt = CallRuntime(ctx, assets, call_id_for(ctx.room.name, metadata), metadata)
        self._ending = CallEnding(self._rt)
        self._handoff = HandoffRouter(self._rt, self._ending)
        self._events = SessionEventMapper(self._rt, self._handoff, self._ending)
        self._dtmf = DtmfInput(self._rt)
        self._supervision = SupervisionDesk(self._rt, self._ending)

    @property
    def call_id(self) -> str:
        return self._rt.call_id

    async def run(self) -> None:
        rt, ctx, assets = self._rt, self._rt.ctx, self._rt.assets
        ctx.log_context_fields = {"call_id": rt.call_id, "room": ctx.room.name}
        # subscribe to the caller only once the session is ready to answer: the greeting then
        # follows the subscription at once, and livekit-sip answers a SIP call as soon as our
        # track is published
        await ctx.connect(auto_subscribe=AutoSubscribe.SUBSCRIBE_NONE)
        outbound: PersonOnTheLine | None = None
        if is_outbound_call(rt.metadata):
            outbound = await OutboundDialer(ctx, assets, rt.call_id, rt.metadata).run()
            if outbound is None:
                return  # not reached, or a voicemail was left: the record is stored
        participant = (outbound.participant if outbound is not None
                       else await ctx.wait_for_participant())
        caller_number = (outbound.number if outbound is not None
                         else participant.attributes.get("sip.phoneNumber") or None)
        rt.caller_identity = participant.identity
        rt.caller_is_sip = participant.kind == rtc.ParticipantKind.PARTICIPANT_KIND_SIP
        self._dtmf.attach(ctx.room)
        started_at = datetime.now(UTC)

        rt.recorder, rt.close_recorder = await assets.open_recorder()
        rt.recorder.on_superseded = self._ending.superseded
        await rt.recorder.open(CallInfo(
            call_id=rt.call_id, room=ctx.room.name,
            worker_id=lease_owner(rt.metadata, ctx.worker_id),
            caller_number=caller_number, playbook=str(assets.settings.playbook_path),
            metadata=record_metadata(rt.metadata),
        ))
        ctx.add_shutdown_callback(self._ending.finish)
        # the part is opened while the session starts; it listens from before the greeting
        opening_recording = asyncio.create_task(open_call_recording(
            assets.playbook, rt.recorder, rt.call_id, assets.open_recording_store))
        for kind, payload in outbound.events if outbound is not None else ():
            rt.record(kind, payload)

        userdata = IntakeUserdata.create(
            assets.playbook, assets.booking, call_id=rt.call_id, recorder=rt.recorder,
            call_start=started_at, on_escalate=self._handoff.on_escalate,
            on_end_call=self._ending.end_call)
        resume_line: str | None = None
        chat_ctx: llm.ChatContext | None = None
        lost_transfer: str | None = None
        if rt.metadata.get("resume"):
            restored = await restore_call(rt.recorder, assets.playbook)
            userdata.checklist, resume_line, chat_ctx = (restored.checklist,
                                                         restored.resume_line, restored.chat_ctx)
            lost_transfer = restored.unfinished_transfer
            # a category the first agent already handed off is not handed off twice
            userdata.escalated = {e.category for e in userdata.checklist.escalations}
        userdata.hold_reply_shields = True
        playout.install()  # RoomIO's agent audio: pause stops it now, resume loses nothing
        session = self._new_session(userdata)
        agent = IntakeAgent(
            playbook=assets.playbook,
            checklist=userdata.checklist,
            greeting_text=(outbound.opening_text if outbound is not None
                           else assets.greeting_text),
            greeting_frames=(outbound.opening_frames if outbound is not None
                             else assets.greeting_frames),
            resume_line=resume_line,
            resume_frames=(prerendered_frames(resume_line, assets.settings)
                           if resume_line else None),
            chat_ctx=chat_ctx,
        )
        await session.start(agent=agent, room=ctx.room,
                            room_options=self._room_options(participant), record=False)
        self._events.agent_started(agent)
        self._supervision.attach(agent)
        rt.mark("session_started")
        await self._until_caller_can_hear_us()
        rt.mark("caller_subscribed_to_agent")
        await self._subscribe_to_caller_audio(participant)
        rt.mark("agent_subscribed_to_caller")
        await self._attach_recording(opening_recording, participant)
        agent.greet()
        rt.mark("greeting_started")
        if lost_transfer is not None:
            # the caller was on hold (or relayed) when the agent before died: never silence
            await self._handoff.recover_lost_transfer(lost_transfer)
        start_call_timers(rt, self._ending)
        await rt.recorder.set_status(
            "in_progress", **(rt.call_audio.status_fields if rt.call_audio else {}))

    async def _attach_recording(self, opening: asyncio.Task[CallRecording | None],
                                participant: rtc.RemoteParticipant) -> None:
        """Listen from before the greeting; a store slow to open (S3 far away) never delays
        the greeting: the recording then attaches once it is open, its URI in its event."""
        rt = self._rt
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(opening), RECORDING_OPEN_WAIT_S)
        if opening.done():
            rt.call_audio = opening.result()
            if rt.call_audio is not None:
                rt.call_audio.attach(rt.ctx.room, participant)
            return

        async def attach_when_open() -> None:
            rt.call_audio = await opening
            if rt.call_audio is not None:
                rt.call_audio.attach(rt.ctx.room, participant)

        rt.spawn(attach_when_open(), "intake-recording-attach")

    def _new_session(self, userdata: IntakeUserdata) -> AgentSession[IntakeUserdata]:
        assets = self._rt.assets
        session: AgentSession[IntakeUserdata] = AgentSession(
            llm=build_realtime_model(assets.settings),
            vad=with_onset_cue(assets.vad, self._events.on_caller_onset),
            userdata=userdata,
            turn_handling={"interruption": {"mode": "vad", "min_duration": 0.2,
                                            "resume_false_interruption": False}},
            aec_warmup_duration=None,  # phone audio: an early barge-in is real, not echo
            user_away_timeout=float(assets.playbook.call_limits.idle_hangup_seconds),
            max_tool_steps=MAX_TOOL_STEPS,
        )
        self._rt.session = session
        self._rt.turn_taking = TurnTaking(partial(update_turn_detection, session.llm),
                                          fixed_silence_ms=assets.settings.turn_silence_ms)
        CallMetricsObserver().attach(session)  # first: it sees model errors as they came
        self._events.attach(session)
        return session

    @staticmethod
    def _room_options(participant: rtc.RemoteParticipant) -> room_io.RoomOptions:
        return room_io.RoomOptions(
            participant_identity=participant.identity,
            close_on_disconnect=True,
            # the room is deleted when the session closes (CallEnding), except after a warm
            # transfer handed the call over: then the caller is still in it
            delete_room_on_close=False,
            audio_input=room_io.AudioInputOptions(frame_size_ms=INPUT_FRAME_MS,
                                                  auto_gain_control=input_auto_gain()),
            # transcript/audio syncing estimates speaking rate on the agent's event loop
            # (~300 ms of CPU on the first utterance) right when the greeting starts; the
            # record comes from conversation items, so transcripts go out unsynced
            text_output=room_io.TextOutputOptions(sync_transcription=False),
        )

    async def _until_caller_can_hear_us(self) -> None:
        try:
            await wait_until_heard(self._rt.ctx.room, CALLER_AUDIO_TIMEOUT_S)
        except TimeoutError:
            logger.warning("nobody subscribed to the agent's audio in time; greeting anyway",
                           extra=self._rt.log)

    async def _subscribe_to_caller_audio(self, participant: rtc.RemoteParticipant) -> None:
        try:
            await subscribe_audio(self._rt.ctx.room, participant, CALLER_AUDIO_TIMEOUT_S)
        except TimeoutError:
            logger.warning("caller audio not subscribed in time; greeting anyway",
                           extra=self._rt.log)


def update_turn_detection(model: object, detection: ServerVad) -> None:
    """A `session.update` with the new turn detection (the plugin sends it on every session)."""
    if isinstance(model, llm.RealtimeModel):
        update = getattr(model, "update_options", None)
        if callable(update):
            update(turn_detection=detection)
