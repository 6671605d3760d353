"""Session events into the record and into the call's reactions.

Turns go to the record as conversation items arrive; each final caller transcript goes past the
deterministic guard; the caller starting to talk over the agent pauses playout at once and
`BargeInController` decides (backchannel: resume; interruption: cut, recorded as heard); the
caller's speech moves the idle timer; an unrecoverable model failure becomes the apology.
"""

from __future__ import annotations

import logging
import time

from livekit.agents import AgentSession, llm
from livekit.agents.voice import SpeechHandle
from livekit.agents.voice import events as voice_events
from livekit.agents.voice import io as voice_io

from agent.assets import VAD_MIN_SILENCE_S
from agent.barge_in import DEFAULT_BACKCHANNELS, BargeInController, Decision
from agent.call_ending import CallEnding
from agent.call_metrics import count_barge_in_decision
from agent.call_runtime import CallRuntime
from agent.handoff import HandoffRouter
from agent.intake_agent import IntakeAgent
from agent.playout import STAGE_MARK_LEVEL
from state.protocols import TURN
from tools.context import IntakeUserdata
from tools.tool_calls import release_reply_shields

logger = logging.getLogger("intake.call")
# logged at info for `intake bench latency` (INTAKE_STAGE_MARKS=1), which counts them
BARGE_IN_DECISION_MARK = "barge-in decided"


class SessionEventMapper:
    def __init__(self, runtime: CallRuntime, handoff: HandoffRouter,
                 ending: CallEnding) -> None:
        self._rt = runtime
        self._handoff = handoff
        self._ending = ending
        self._agent: IntakeAgent | None = None
        self._refresh_pending = False
        self.barge_in = BargeInController(
            self._playout, (*DEFAULT_BACKCHANNELS, *runtime.playbook.backchannels),
            on_decision=self._on_barge_in_decision,
            vad_silence_s=VAD_MIN_SILENCE_S)

    def attach(self, session: AgentSession[IntakeUserdata]) -> None:
        rt = self._rt
        session.on("conversation_item_added", self.on_item_added)
        session.on("user_input_transcribed", self.on_user_transcribed)
        session.on("user_state_changed", self.on_user_state)
        session.on("agent_state_changed", lambda ev: rt.mark(f"agent_{ev.new_state}"))
        session.on("error", self.on_error)
        session.on("function_tools_executed", self.on_tools_executed)
        session.on("speech_created", self.on_speech_created)
        session.on("close", self.on_close)

    def agent_started(self, agent: IntakeAgent) -> None:
        self._agent = agent
        session = self._rt.session
        if session is not None and session.output.audio is not None:
            session.output.audio.on("playback_finished", self.on_playback_finished)

    def _playout(self) -> voice_io.AudioOutput | None:
        session = self._rt.session
        return session.output.audio if session is not None else None

    def _on_barge_in_decision(self, decision: Decision) -> None:
        self._rt.mark(f"barge_in_{decision}")
        count_barge_in_decision(decision)
        logger.log(STAGE_MARK_LEVEL, BARGE_IN_DECISION_MARK, extra={"decision": decision})

    def on_speech_created(self, ev: voice_events.SpeechCreatedEvent) -> None:
        self._rt.speeches.append((time.monotonic(), ev.speech_handle))
        if not ev.user_initiated:
            self.barge_in.reply_created(ev.speech_handle)

    def on_playback_finished(self, ev: voice_io.PlaybackFinishedEvent) -> None:
        if self._agent is not None:
            self._agent.playout_meter.playback_finished(ev.playback_position, ev.interrupted)

    def on_item_added(self, ev: voice_events.ConversationItemAddedEvent) -> None:
        item = ev.item
        if not isinstance(item, llm.ChatMessage) or item.role not in ("user", "assistant"):
            return
        text = item.text_content or ""
        if not text.strip():
            return
        role = "caller" if item.role == "user" else "agent"
        if role == "agent" and item.interrupted and self._agent is not None:
            # the generated text runs ahead of playout: keep what the caller heard
            text = self._agent.playout_meter.heard(text)
        self._rt.record(TURN, {"role": role, "text": text, "interrupted": bool(item.interrupted),
                               "item_id": item.id})
        if role == "caller":
            self.refresh_checklist()
        elif self._rt.turn_taking is not None:
            self._rt.turn_taking.after_agent_line(text)

    def on_tools_executed(self, _ev: voice_events.FunctionToolsExecutedEvent) -> None:
        session = self._rt.session
        if session is not None:
            release_reply_shields(session.userdata)
        self.refresh_checklist()

    def on_user_transcribed(self, ev: voice_events.UserInputTranscribedEvent) -> None:
        if not ev.is_final or self._rt.session is None:
            return
        self.barge_in.caller_transcript(ev.transcript)
        if not ev.transcript:
            return
        self._rt.spawn(self._handoff.react_to_caller_turn(ev.transcript), "intake-caller-turn")

    def on_user_state(self, ev: voice_events.UserStateChangedEvent) -> None:
        rt = self._rt
        session = rt.session
        if session is None or rt.on_hold or rt.handed_over:
            return
        if ev.new_state == "speaking":
            # local VAD barge-in: pause playout now, decide once we know what the sound was
            self.barge_in.caller_started(self._interruptible_speech())
        elif ev.new_state == "listening":
            self.barge_in.caller_stopped()
        if rt.timers is not None:
            if ev.new_state == "away":
                rt.timers.caller_idle()
            elif ev.new_state == "speaking":
                rt.timers.caller_active()

    def on_caller_onset(self) -> None:
        """The VAD stream's early cue (before Silero calls speech): pause for Silero to decide."""
        rt = self._rt
        if rt.session is None or rt.on_hold or rt.handed_over:
            return
        self.barge_in.caller_onset(self._interruptible_speech())

    def _interruptible_speech(self) -> SpeechHandle | None:
        """The speech the agent is playing, when the caller may talk over it."""
        session = self._rt.session
        if session is None:
            return None
        speech = session.current_speech
        busy = (session.agent_state in ("speaking", "thinking") and speech is not None
                and not speech.done() and speech.allow_interruptions)
        return speech if busy else None

    def on_error(self, ev: voice_events.ErrorEvent) -> None:
        error = ev.error
        if not isinstance(error, llm.RealtimeModelError) or error.recoverable:
            return  # the plugin retries recoverable failures (a dropped socket) itself
        logger.error("realtime model failed; apologising to the caller",
                     extra={**self._rt.log, "label": error.label})
        # AgentSession closes itself right after this event on an unrecoverable error, which
        # would leave the caller in silence. We take the failure over: the pre-rendered
        # apology plays (it needs no model), then we hang up.
        error.recoverable = True
        self._ending.apologise_and_end("realtime_unavailable")

    def on_close(self, ev: voice_events.CloseEvent) -> None:
        self.barge_in.close()
        if self._rt.handed_over or self._rt.superseded:
            # the AI left a transferred call (the transfer ends the job), or the replacement
            # agent has it: the room is not ours to delete
            return
        self._ending.caller_left(str(getattr(ev.reason, "value", ev.reason)))
        self._rt.spawn(self._ending.delete_room_and_shut_down(str(ev.reason)), "intake-close")

    def refresh_checklist(self) -> None:
        """The model always sees what is still missing: after every tool call and turn."""
        if self._agent is None or self._refresh_pending:
            return
        self._refresh_pending = True
        agent = self._agent

        async def refresh() -> None:
            try:
                await agent.refresh_checklist()
            except Exception:
                logger.exception("could not refresh the checklist", extra=self._rt.log)
            finally:
                self._refresh_pending = False

        self._rt.spawn(refresh(), "intake-refresh-checklist")
