"""One call, from the caller joining to the record being safe.

Latency budget: the greeting is pre-rendered audio played the moment the session starts, so it
never waits on the Realtime connection. Barge-in is local: Silero VAD on the caller's audio
interrupts agent playout at once, without waiting for the model's own speech detection.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from livekit import rtc
from livekit.agents import (
    AgentSession,
    APIConnectOptions,
    AutoSubscribe,
    JobContext,
    llm,
    room_io,
    vad,
)
from livekit.agents.voice import SpeechHandle
from livekit.agents.voice import events as voice_events
from livekit.plugins import openai
from openai.types.realtime import AudioTranscription
from openai.types.realtime.realtime_audio_input_turn_detection import ServerVad

from agent.call_limits import CallTimers
from agent.config import WorkerSettings
from agent.instructions import opening_line
from agent.intake_agent import IntakeAgent
from agent.outbound import OutboundDialer, PersonOnTheLine, is_outbound_call, record_metadata
from agent.prerendered_audio import pcm16_to_frames, render_speech_pcm16
from agent.recording import open_recorder
from agent.room_audio import subscribe_audio
from agent.warm_transfer import WarmTransfer, briefing_text, hold_audio, hold_chime
from sip.dtmf import DigitsSubmitted, DtmfCollector, HumanRequested
from state.events import InvalidEventError
from state.protocols import ESCALATION, STATUS, TURN, CallInfo, CallRecorder
from tools.booking import (
    BookingBackend,
    CallbackRequest,
    HttpBookingBackend,
    LocalBookingBackend,
)
from tools.checklist import SlotChecklist, recorder_hook
from tools.context import EndReason, EscalationRequest, IntakeUserdata
from tools.intake_tools import escalate, on_caller_turn, release_reply_shields
from tools.playbook import Playbook, load_playbook

logger = logging.getLogger("intake.call")

AGENT_SAMPLE_RATE = 24000
APOLOGY_TEXT = ("I'm sorry, I'm having trouble on my end. Someone from our team will call you "
                "back shortly. Goodbye.")
# end of caller speech to the model's end of turn; the model waits this long in silence
TURN_SILENCE_MS = 500
RESUME_EVENTS = 60
# caller audio reaches Silero VAD in frames this long (the default 50 ms delays barge-in)
INPUT_FRAME_MS = 20
CALLER_AUDIO_TIMEOUT_S = 10.0
APOLOGY_TIMEOUT_S = 15.0


TransferFn = Callable[[JobContext, EscalationRequest], Awaitable[bool]]


@dataclass
class PrewarmedAssets:
    settings: WorkerSettings
    vad: vad.VAD
    playbook: Playbook
    greeting_text: str
    greeting_frames: list[rtc.AudioFrame]
    apology_frames: list[rtc.AudioFrame]
    booking: BookingBackend
    # hands a call to a person (SIP transfer); None: escalations become callbacks
    transfer: TransferFn | None = None
    # what the caller hears on hold during a warm transfer
    hold_message_frames: list[rtc.AudioFrame] = field(default_factory=list)
    hold_chime_frames: list[rtc.AudioFrame] = field(default_factory=hold_chime)


def greeting_text(playbook: Playbook) -> str:
    """The opening (greeting, AI disclosure, recording notice) and the first question."""
    first_field = next(iter(playbook.fields.values()))
    return f"{opening_line(playbook)} {first_field.ask}"


def prerendered_frames(text: str) -> list[rtc.AudioFrame]:
    return pcm16_to_frames(render_speech_pcm16(text, AGENT_SAMPLE_RATE), AGENT_SAMPLE_RATE)


def prewarm_assets(settings: WorkerSettings, vad_model: vad.VAD) -> PrewarmedAssets:
    playbook = load_playbook(settings.playbook_path)
    text = greeting_text(playbook)
    return PrewarmedAssets(
        settings=settings,
        vad=vad_model,
        playbook=playbook,
        greeting_text=text,
        greeting_frames=prerendered_frames(text),
        apology_frames=prerendered_frames(APOLOGY_TEXT),
        hold_message_frames=prerendered_frames(playbook.transfer.hold_message),
        booking=(HttpBookingBackend(settings.business_api_base)
                 if settings.business_api_base else LocalBookingBackend()),
    )


def parse_job_metadata(raw: str | None) -> dict[str, Any]:
    if not raw:
        return {}
    try:
        data = json.loads(raw)
    except json.JSONDecodeError:
        logger.warning("job metadata is not JSON; ignoring it")
        return {}
    return data if isinstance(data, dict) else {}


def call_id_for(room_name: str, metadata: dict[str, Any]) -> str:
    """The call's id: from the dispatch metadata, else the room name's random part.

    SIP dispatch rules name rooms `<prefix>_<number>_<random>`; only the random part is taken,
    so no phone number ever becomes an id that is logged.
    """
    explicit = metadata.get("call_id")
    if isinstance(explicit, str) and explicit:
        return explicit
    if "_" in room_name:
        suffix = room_name.rsplit("_", 1)[1]
        if suffix:
            return suffix
    if room_name.startswith("call-") and len(room_name) > len("call-"):
        return room_name[len("call-"):]
    return uuid.uuid4().hex


def build_realtime_model(settings: WorkerSettings) -> openai.realtime.RealtimeModel:
    kwargs: dict[str, Any] = {}
    if settings.openai_base_url:
        kwargs["base_url"] = settings.openai_base_url
    return openai.realtime.RealtimeModel(
        model=settings.realtime_model,
        voice=settings.realtime_voice,
        api_key=settings.openai_api_key,
        turn_detection=ServerVad(
            type="server_vad", threshold=0.5, prefix_padding_ms=300,
            silence_duration_ms=TURN_SILENCE_MS, create_response=True, interrupt_response=True,
        ),
        input_audio_transcription=AudioTranscription(model="gpt-4o-mini-transcribe"),
        conn_options=APIConnectOptions(max_retry=3, retry_interval=0.5, timeout=10.0),
        **kwargs,
    )


class CallSession:
    def __init__(self, ctx: JobContext, assets: PrewarmedAssets) -> None:
        self._ctx = ctx
        self._assets = assets
        self._settings = assets.settings
        self._metadata = parse_job_metadata(ctx.job.metadata)
        self._call_id = call_id_for(ctx.room.name, self._metadata)
        self._recorder: CallRecorder | None = None
        self._close_recorder_client: Any = None
        self._session: AgentSession[IntakeUserdata] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._apologised = False
        self._finished = False
        self._agent: IntakeAgent | None = None
        self._timers: CallTimers | None = None
        self._refresh_pending = False
        self._caller_identity = ""
        self._caller_is_sip = False
        self._dtmf = DtmfCollector()
        # warm transfer: the caller holds (the AI neither listens nor times out), then the call
        # is handed over and the AI session is gone
        self._on_hold = False
        self._handed_over = False
        self._warm_transfer: WarmTransfer | None = None
        # every speech the session created, with when (monotonic): a transfer waits for the
        # handoff line itself, not for whatever the agent happened to be saying
        self._speeches: list[tuple[float, SpeechHandle]] = []

    @property
    def call_id(self) -> str:
        return self._call_id

    def _spawn(self, coro: Any, name: str) -> None:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def run(self) -> None:
        ctx = self._ctx
        log_fields = {"call_id": self._call_id, "room": ctx.room.name}
        ctx.log_context_fields = log_fields
        # subscribe to the caller only once the session is ready to answer: the greeting then
        # follows the subscription at once, and livekit-sip answers a SIP call as soon as our
        # track is published
        await ctx.connect(auto_subscribe=AutoSubscribe.SUBSCRIBE_NONE)
        outbound: PersonOnTheLine | None = None
        if is_outbound_call(self._metadata):
            outbound = await OutboundDialer(ctx, self._assets, self._call_id,
                                            self._metadata).run()
            if outbound is None:
                return  # not reached, or a voicemail was left: the record is stored
        participant = (outbound.participant if outbound is not None
                       else await ctx.wait_for_participant())
        caller_number = (outbound.number if outbound is not None
                         else participant.attributes.get("sip.phoneNumber") or None)
        self._caller_identity = participant.identity
        self._caller_is_sip = participant.kind == rtc.ParticipantKind.PARTICIPANT_KIND_SIP
        ctx.room.on("sip_dtmf_received", self._on_dtmf)
        started_at = datetime.now(UTC)

        self._recorder, self._close_recorder_client = await open_recorder(self._settings)
        lease_owner = self._metadata.get("lease_owner")
        await self._recorder.open(CallInfo(
            call_id=self._call_id, room=ctx.room.name,
            worker_id=lease_owner if isinstance(lease_owner, str) and lease_owner
            else ctx.worker_id,
            caller_number=caller_number, playbook=str(self._settings.playbook_path),
            metadata=record_metadata(self._metadata),
        ))
        ctx.add_shutdown_callback(self._finish)
        for kind, payload in outbound.events if outbound is not None else ():
            self._record(kind, payload)

        userdata = IntakeUserdata.create(
            self._assets.playbook,
            self._assets.booking,
            call_id=self._call_id,
            recorder=self._recorder,
            call_start=started_at,
            on_escalate=self._on_escalate,
            on_end_call=self._end_call,
        )
        resume_line: str | None = None
        chat_ctx: llm.ChatContext | None = None
        if self._metadata.get("resume"):
            resume_line, chat_ctx = await self._restore(userdata)
        userdata.hold_reply_shields = True
        checklist = userdata.checklist
        session: AgentSession[IntakeUserdata] = AgentSession(
            llm=build_realtime_model(self._settings),
            vad=self._assets.vad,
            userdata=userdata,
            turn_handling={"interruption": {"mode": "vad", "min_duration": 0.2,
                                            "resume_false_interruption": False}},
            aec_warmup_duration=None,  # phone audio: an early barge-in is real, not echo
            user_away_timeout=float(self._assets.playbook.call_limits.idle_hangup_seconds),
        )
        self._session = session
        self._wire_events(session)
        agent = IntakeAgent(
            playbook=self._assets.playbook,
            checklist=checklist,
            greeting_text=(outbound.opening_text if outbound is not None
                           else self._assets.greeting_text),
            greeting_frames=(outbound.opening_frames if outbound is not None
                             else self._assets.greeting_frames),
            resume_line=resume_line,
            resume_frames=prerendered_frames(resume_line) if resume_line else None,
            chat_ctx=chat_ctx,
        )
        await session.start(
            agent=agent,
            room=ctx.room,
            room_options=room_io.RoomOptions(
                participant_identity=participant.identity,
                close_on_disconnect=True,
                # the room is deleted when the session closes (_on_close), except after a warm
                # transfer handed the call over: then the caller is still in it
                delete_room_on_close=False,
                audio_input=room_io.AudioInputOptions(frame_size_ms=INPUT_FRAME_MS),
                # transcript/audio syncing estimates speaking rate on the agent's event loop
                # (~300 ms of CPU on the first utterance) right when the greeting starts; the
                # record comes from conversation items, so transcripts go out unsynced
                text_output=room_io.TextOutputOptions(sync_transcription=False),
            ),
            record=False,
        )
        self._agent = agent
        self._mark("session_started")
        await self._wait_until_caller_can_hear_us()
        self._mark("caller_subscribed_to_agent")
        await self._subscribe_to_caller_audio(participant)
        self._mark("agent_subscribed_to_caller")
        agent.greet()
        self._mark("greeting_started")
        self._start_timers(session)
        await self._recorder.set_status("in_progress")

    def _mark(self, stage: str) -> None:
        """Wall-clock marks of the call's set-up, for latency analysis (debug level)."""
        logger.debug("call stage", extra={"call_id": self._call_id, "stage": stage,
                                          "at": time.time()})

    async def _wait_until_caller_can_hear_us(self) -> None:
        """Our audio track is published and someone (the caller, or livekit-sip for a phone
        call) subscribed to it: a greeting started earlier would be partly lost."""
        local = self._ctx.room.local_participant
        deadline = time.monotonic() + CALLER_AUDIO_TIMEOUT_S
        try:
            while True:
                audio = [p for p in local.track_publications.values()
                         if p.kind == rtc.TrackKind.KIND_AUDIO]
                if audio:
                    await asyncio.wait_for(audio[0].wait_for_subscription(),
                                           max(0.1, deadline - time.monotonic()))
                    return
                if time.monotonic() > deadline:
                    raise TimeoutError
                await asyncio.sleep(0.01)
        except TimeoutError:
            logger.warning("nobody subscribed to the agent's audio in time; greeting anyway",
                           extra={"call_id": self._call_id})

    async def _subscribe_to_caller_audio(self, participant: rtc.RemoteParticipant) -> None:
        try:
            await subscribe_audio(self._ctx.room, participant, CALLER_AUDIO_TIMEOUT_S)
        except TimeoutError:
            logger.warning("caller audio not subscribed in time; greeting anyway",
                           extra={"call_id": self._call_id})

    async def _restore(self, userdata: IntakeUserdata) -> tuple[str, llm.ChatContext]:
        """A replacement agent: the checklist and the conversation so far, from Redis."""
        assert self._recorder is not None
        slots = await self._recorder.load_slots()
        userdata.checklist = SlotChecklist.from_snapshot(
            self._assets.playbook, {"slots": slots}, on_change=recorder_hook(self._recorder))
        chat_ctx = llm.ChatContext.empty()
        for _seq, event in await self._recorder.recent_events(RESUME_EVENTS):
            if event.kind != TURN:
                continue
            role: Literal["user", "assistant"] = (
                "user" if event.payload.get("role") == "caller" else "assistant")
            chat_ctx.add_message(role=role, content=str(event.payload.get("text", "")))
        missing = userdata.checklist.missing()
        topic = (f"we were on your {missing[0].replace('_', ' ')}" if missing
                 else "we were just wrapping up")
        return f"Sorry, I lost you for a second. {topic[0].upper()}{topic[1:]}.", chat_ctx

    # --- events -----------------------------------------------------------------------------
    def _wire_events(self, session: AgentSession[IntakeUserdata]) -> None:
        session.on("conversation_item_added", self._on_item_added)
        session.on("user_input_transcribed", self._on_user_transcribed)
        session.on("user_state_changed", self._on_user_state)
        session.on("agent_state_changed",
                   lambda ev: self._mark(f"agent_{ev.new_state}"))
        session.on("error", self._on_error)
        session.on("function_tools_executed", self._on_tools_executed)
        session.on("speech_created", lambda ev: self._speeches.append(
            (time.monotonic(), ev.speech_handle)))
        session.on("close", self._on_close)

    def _on_item_added(self, ev: voice_events.ConversationItemAddedEvent) -> None:
        item = ev.item
        if not isinstance(item, llm.ChatMessage) or item.role not in ("user", "assistant"):
            return
        text = item.text_content or ""
        if not text.strip():
            return
        role = "caller" if item.role == "user" else "agent"
        payload = {"role": role, "text": text, "interrupted": bool(item.interrupted),
                   "item_id": item.id}
        self._record(TURN, payload)
        if role == "caller":
            self._refresh_checklist()

    def _on_tools_executed(self, _ev: voice_events.FunctionToolsExecutedEvent) -> None:
        session = self._session
        if session is not None:
            release_reply_shields(session.userdata)
        self._refresh_checklist()

    def _on_user_transcribed(self, ev: voice_events.UserInputTranscribedEvent) -> None:
        if not ev.is_final or not ev.transcript:
            return
        session = self._session
        if session is None:
            return
        self._spawn(self._caller_turn(ev.transcript), "intake-caller-turn")

    def _on_user_state(self, ev: voice_events.UserStateChangedEvent) -> None:
        session = self._session
        if session is None or self._on_hold or self._handed_over:
            return
        if ev.new_state == "speaking" and session.agent_state == "speaking":
            # local VAD barge-in: stop playout now instead of waiting for the model
            with contextlib.suppress(RuntimeError):
                session.interrupt()
        if self._timers is not None:
            if ev.new_state == "away":
                self._timers.caller_idle()
            elif ev.new_state == "speaking":
                self._timers.caller_active()

    def _on_error(self, ev: voice_events.ErrorEvent) -> None:
        error = ev.error
        if not isinstance(error, llm.RealtimeModelError) or error.recoverable:
            return  # the plugin retries recoverable failures (a dropped socket) itself
        logger.error("realtime model failed; apologising to the caller",
                     extra={"call_id": self._call_id, "label": error.label})
        # AgentSession closes itself right after this event on an unrecoverable error, which
        # would leave the caller in silence. We take the failure over: the pre-rendered
        # apology plays (it needs no model), then we hang up.
        error.recoverable = True
        self._apologise_and_end("realtime_unavailable")

    def _on_close(self, ev: voice_events.CloseEvent) -> None:
        if self._handed_over:
            return  # the AI left a transferred call; the transfer ends the job
        self._spawn(self._delete_room_and_shut_down(str(ev.reason)), "intake-close")

    async def _delete_room_and_shut_down(self, reason: str) -> None:
        # the caller hung up (or the session failed): nothing may linger
        with contextlib.suppress(Exception):
            await self._ctx.delete_room()
        self._ctx.shutdown(reason=reason)

    def _record(self, kind: str, payload: dict[str, Any]) -> None:
        recorder = self._recorder
        if recorder is None or self._finished:
            return
        self._spawn(self._record_safely(recorder, kind, payload), f"intake-record-{kind}")

    async def _record_safely(self, recorder: CallRecorder, kind: str,
                             payload: dict[str, Any]) -> None:
        try:
            await recorder.record(kind, payload)
        except InvalidEventError as exc:
            logger.warning("event rejected", extra={"call_id": self._call_id, "kind": kind,
                                                    "reason": exc.reason})
        except Exception:
            logger.exception("event not recorded", extra={"call_id": self._call_id,
                                                          "kind": kind})

    # --- behaviours ---------------------------------------------------------------------------
    async def _caller_turn(self, transcript: str) -> None:
        """The deterministic guard sees every caller turn, whatever the model makes of it."""
        session = self._session
        if session is None:
            return
        already = set(session.userdata.escalated)
        match = await on_caller_turn(session.userdata, transcript)
        if match is None or match.category in already:
            return
        trigger = self._assets.playbook.escalation.get(match.category)
        say = trigger.say if trigger is not None else ""
        with contextlib.suppress(RuntimeError):
            session.interrupt()
        session.generate_reply(instructions=(
            f"The caller needs a person ({match.category}). Say this, briefly: {say} Do not "
            "discuss prices, legal terms or commitments."))

    async def _on_escalate(self, request: EscalationRequest) -> bool:
        """Hand the call to a person. Returns whether a transfer is under way.

        A cold transfer takes the caller away at once, so it starts only after the agent has
        spoken the handoff line; if it then fails, the caller is promised a callback.
        """
        self._record(ESCALATION, {"category": request.category, "action": request.action,
                                  "source": request.source, "stage": "handoff"})
        if request.action != "transfer":
            return False
        escalated_at = time.monotonic()
        if self._assets.playbook.transfer.mode == "warm":
            warm = self._new_warm_transfer()
            if await warm.trunk_available():
                self._warm_transfer = warm
                self._spawn(self._transfer_warm(warm, request, escalated_at),
                            "intake-warm-transfer")
                return True
            # no outbound trunk to dial on: a phone caller can still be handed over cold
        transfer = self._assets.transfer
        if transfer is None or not self._caller_is_sip:
            return False
        self._spawn(self._transfer_after_handoff_line(transfer, request, escalated_at),
                    "intake-transfer")
        return True

    def _new_warm_transfer(self) -> WarmTransfer:
        settings = self._settings
        return WarmTransfer(
            lk=self._ctx.api, livekit_url=settings.livekit_url,
            api_key=settings.livekit_api_key, api_secret=settings.livekit_api_secret,
            caller_room=self._ctx.room, call_id=self._call_id,
            trunk_id=settings.sip_outbound_trunk_id, resource_name=settings.sip_resource_name)

    async def _transfer_warm(self, warm: WarmTransfer, request: EscalationRequest,
                             escalated_at: float) -> None:
        """Hold, brief the person, connect them; nobody answers: back to the caller."""
        session = self._session
        if session is None:
            return
        options = self._assets.playbook.transfer
        await self._until_handoff_line_spoken(escalated_at)
        self._on_hold = True
        self._record(ESCALATION, {"category": request.category, "stage": "hold"})
        session.input.set_audio_enabled(False)  # the model must not hear or answer the hold
        stop_hold = asyncio.Event()
        hold = None
        try:
            with contextlib.suppress(RuntimeError):
                session.interrupt()
            hold = session.say(options.hold_message,
                               audio=hold_audio(self._assets.hold_message_frames,
                                                self._assets.hold_chime_frames, stop_hold),
                               allow_interruptions=False, add_to_chat_ctx=False)
        except RuntimeError:
            logger.warning("could not play hold audio", extra={"call_id": self._call_id})
        fields = session.userdata.checklist.outcome()["fields"]
        result = await warm.dial_and_brief(
            request.transfer_number, briefing_text(self._assets.playbook, request.category,
                                                   fields),
            ring_timeout_s=float(options.answer_timeout_seconds))
        stop_hold.set()
        if hold is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(hold.wait_for_playout(), 5.0)
        if not result.connected:
            await warm.close()
            self._warm_transfer = None
            self._record(ESCALATION, {"category": request.category, "stage": "warm_transfer",
                                      "transferred": False, "reason": result.reason})
            self._on_hold = False
            session.input.set_audio_enabled(True)
            await self._offer_callback(session, request)
            return
        # the AI leaves the call before the two are connected: nothing it says may overlap
        self._handed_over = True
        if self._timers is not None:
            await self._timers.aclose()
        with contextlib.suppress(Exception):
            await session.aclose()
        try:
            connected = await warm.connect(self._caller_identity)
            self._record(ESCALATION, {"category": request.category, "stage": "warm_transfer",
                                      "transferred": True, "via": connected.via})
            await warm.wait_until_ended()
            self._record(STATUS, {"status": "transfer_ended"})
        except Exception:
            logger.exception("warm transfer could not connect", extra={"call_id": self._call_id})
            self._record(ESCALATION, {"category": request.category, "stage": "warm_transfer",
                                      "transferred": False, "reason": "connect_failed"})
        finally:
            await warm.close()
            self._warm_transfer = None
            await self._hang_up("transferred")

    async def _offer_callback(self, session: AgentSession[IntakeUserdata],
                              request: EscalationRequest) -> None:
        """Nobody answered the transfer: book a callback now if we can reach the caller."""
        ud = session.userdata
        fields = ud.checklist.outcome()["fields"]
        name, phone = fields.get("name"), fields.get("phone")
        say = self._assets.playbook.transfer.no_answer_say
        if isinstance(name, str) and isinstance(phone, str) and name and phone:
            result = await ud.booking.request_callback(CallbackRequest(
                call_id=self._call_id, time_window="any", name=name, phone=phone,
                topic=f"asked for a person ({request.category})"))
            if result.confirmed and result.reference:
                ud.checklist.record_booking("callback", result.reference, "any")
                self._record(STATUS, {"status": "callback_booked", "reason": "transfer",
                                      "reference": result.reference})
                instructions = (f"Say this: {say} Then continue with any details still "
                                "missing.")
            else:
                instructions = ("Apologise: nobody from the team could pick up, and the "
                                "callback could not be booked automatically; the team has "
                                "their details and will reach out. Then continue with any "
                                "details still missing.")
        else:
            instructions = ("Apologise: nobody from the team could pick up right now. Offer a "
                            "callback: ask for their name and best number if you don't have "
                            "them yet, then use request_callback.")
        session.generate_reply(instructions=instructions)

    async def _transfer_after_handoff_line(self, transfer: TransferFn,
                                           request: EscalationRequest,
                                           escalated_at: float) -> None:
        session = self._session
        await self._until_handoff_line_spoken(escalated_at)
        try:
            transferred = await transfer(self._ctx, request)
        except Exception:
            logger.exception("transfer failed", extra={"call_id": self._call_id})
            transferred = False
        self._record(ESCALATION, {"category": request.category, "stage": "transfer",
                                  "transferred": transferred})
        if not transferred and session is not None:
            session.generate_reply(instructions=(
                "The transfer did not go through. Apologise briefly, tell the caller a person "
                "from the team will call them back soon, and continue with the missing details."))

    # --- DTMF -------------------------------------------------------------------------------
    def _on_dtmf(self, ev: rtc.SipDTMF) -> None:
        session = self._session
        if session is None or ev.participant is None:
            return
        if ev.participant.identity != self._caller_identity:
            return
        action = self._dtmf.press(ev.digit)
        if isinstance(action, HumanRequested):
            self._record(STATUS, {"status": "dtmf_human_request"})
            self._spawn(self._dtmf_human(session), "intake-dtmf-human")
        elif isinstance(action, DigitsSubmitted):
            session.generate_reply(instructions=(
                f"The caller typed {' '.join(action.digits)} on the keypad for the detail you "
                "just asked for. Record it with record_field, then read it back."))

    async def _dtmf_human(self, session: AgentSession[IntakeUserdata]) -> None:
        # silence the agent before escalating: a transfer starts once the agent has spoken,
        # and would take the line cut off here (0 pressed over the greeting) for the handoff
        with contextlib.suppress(RuntimeError, TimeoutError):
            await asyncio.wait_for(session.interrupt(), 5.0)
        say = await escalate(session.userdata, "human_request", source="guard",
                             detail="caller pressed 0")
        session.generate_reply(instructions=f"Say this: {say}")

    async def _end_call(self, reason: EndReason) -> None:
        """Called from the end_call tool, before the goodbye is spoken: hang up after it."""
        self._record(STATUS, {"status": "ending", "reason": reason})
        self._spawn(self._hang_up_after_goodbye(str(reason)), "intake-hangup")

    async def _hang_up_after_goodbye(self, reason: str) -> None:
        await self._until_agent_has_spoken(start_within=8.0, finish_within=30.0)
        await self._hang_up(reason)

    async def _until_handoff_line_spoken(self, since: float, within: float = 25.0) -> None:
        """Wait (bounded) until a line the agent started after `since` was said to the end.

        A reply cut off on the way (the guard interrupting the model's own answer to the same
        turn) is not the handoff line; the next one is.
        """
        checked = 0
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(within):
                while True:
                    fresh = [handle for at, handle in self._speeches if at >= since]
                    if checked == len(fresh):
                        await asyncio.sleep(0.05)
                        continue
                    handle = fresh[checked]
                    checked += 1
                    await handle.wait_for_playout()
                    if not handle.interrupted:
                        return

    async def _until_agent_has_spoken(self, *, start_within: float,
                                      finish_within: float) -> None:
        """Wait for the line the agent is about to say to start, then to end (bounded)."""
        session = self._session
        if session is None:
            return

        async def state_is(*states: str) -> None:
            while session.agent_state not in states:  # noqa: ASYNC110
                await asyncio.sleep(0.05)

        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(state_is("speaking"), start_within)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(state_is("listening", "idle"), finish_within)

    # --- limits --------------------------------------------------------------------------
    def _start_timers(self, session: AgentSession[IntakeUserdata]) -> None:
        limits = self._assets.playbook.call_limits

        async def wrap_up() -> None:
            self._record(STATUS, {"status": "wrap_up_warning"})
            session.generate_reply(instructions=(
                f"Say: {limits.wrap_up_say} Then ask only for the most important detail that "
                "is still missing."))

        async def time_up() -> None:
            self._record(STATUS, {"status": "time_limit"})
            await self._say_goodbye_and_hang_up("time_limit")

        async def idle_prompt() -> None:
            self._record(STATUS, {"status": "idle_prompt"})
            session.generate_reply(instructions=f"Say exactly this and nothing else: "
                                                f"{limits.idle_prompt}")

        async def idle_hang_up() -> None:
            self._record(STATUS, {"status": "idle_hangup"})
            await self._say_goodbye_and_hang_up("idle")

        def unless_on_hold(action: Callable[[], Awaitable[None]],
                           ) -> Callable[[], Awaitable[None]]:
            async def run() -> None:
                if not self._on_hold:  # a warm transfer owns the call for now
                    await action()
            return run

        self._timers = CallTimers(
            max_call_s=limits.max_call_seconds, warning_s=limits.wrap_up_warning_seconds,
            idle_s=limits.idle_hangup_seconds, on_wrap_up=unless_on_hold(wrap_up),
            on_time_up=unless_on_hold(time_up), on_idle_prompt=unless_on_hold(idle_prompt),
            on_idle_hang_up=unless_on_hold(idle_hang_up))
        self._timers.start()

    async def _say_goodbye_and_hang_up(self, reason: str) -> None:
        session = self._session
        if session is None:
            return
        with contextlib.suppress(RuntimeError):
            session.interrupt()
        session.generate_reply(instructions=(
            f"Say exactly this and nothing else: {self._assets.playbook.call_limits.goodbye}"))
        await self._hang_up_after_goodbye(reason)

    def _refresh_checklist(self) -> None:
        """The model always sees what is still missing: after every tool call and turn."""
        if self._agent is None or self._refresh_pending:
            return
        self._refresh_pending = True

        async def refresh() -> None:
            try:
                if self._agent is not None:
                    await self._agent.refresh_checklist()
            except Exception:
                logger.exception("could not refresh the checklist",
                                 extra={"call_id": self._call_id})
            finally:
                self._refresh_pending = False

        self._spawn(refresh(), "intake-refresh-checklist")

    def _apologise_and_end(self, reason: str) -> None:
        session = self._session
        if session is None or self._apologised:
            return
        self._apologised = True
        self._record(STATUS, {"status": "apology", "reason": reason})

        async def frames() -> Any:
            for frame in self._assets.apology_frames:
                yield frame

        try:
            session.interrupt(force=True)
            handle = session.say(APOLOGY_TEXT, audio=frames(), allow_interruptions=False,
                                 add_to_chat_ctx=False)
        except RuntimeError:
            logger.warning("could not play the apology", extra={"call_id": self._call_id})
            self._spawn(self._hang_up(reason), "intake-hangup")
            return

        async def then_hang_up() -> None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(handle.wait_for_playout(), APOLOGY_TIMEOUT_S)
            await self._hang_up(reason)

        self._spawn(then_hang_up(), "intake-hangup")

    async def _hang_up(self, reason: str) -> None:
        self._record(STATUS, {"status": "hung_up", "reason": reason})
        # store the record before tearing down: a job that fails while closing (a dead
        # Realtime connection re-raises from aclose) may never run its shutdown callbacks
        await self._finish(reason)
        with contextlib.suppress(Exception):
            await self._ctx.delete_room()
        self._ctx.shutdown(reason=reason)

    async def _finish(self, reason: str = "") -> None:
        """Store the outcome and close the recorder, once (hang-up or job shutdown)."""
        if self._finished:
            return
        self._finished = True
        started = time.monotonic()
        if self._timers is not None:
            await self._timers.aclose()
        if self._warm_transfer is not None:
            # the caller left mid-transfer: the person's leg and the consult room go too
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._warm_transfer.close(), 5.0)
        for task in list(self._tasks):
            if task.get_name().startswith("intake-record"):
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(asyncio.shield(task), 2.0)
        recorder = self._recorder
        session = self._session
        if recorder is None:
            return
        try:
            outcome: dict[str, Any] = (session.userdata.checklist.outcome()
                                       if session is not None else {})
            await recorder.finish(outcome)
        except Exception:
            logger.exception("could not store the call outcome", extra={"call_id": self._call_id})
        finally:
            for task in list(self._tasks):
                if task is not asyncio.current_task():
                    task.cancel()
            pending = [t for t in list(self._tasks) if t is not asyncio.current_task()]
            if pending:
                await asyncio.wait(pending, timeout=2.0)
            leaked = [t.get_name() for t in pending if not t.done()]
            if leaked:
                logger.warning("call tasks leaked", extra={"call_id": self._call_id,
                                                           "tasks": leaked})
            await recorder.aclose()
            if self._close_recorder_client is not None:
                await self._close_recorder_client()
            logger.info("call finished", extra={
                "call_id": self._call_id, "reason": reason,
                "finish_ms": round((time.monotonic() - started) * 1000)})
