"""Escalations: `escalate` records one and hands it to the agent (the model's
`escalate_to_human`, the keypad, the guard); `on_caller_turn` runs the guard on every caller
turn; `GuardResponder` acts on what the guard fired, deterministically, whatever the model does.

`GuardResponder.act` runs once per new guard escalation (after `on_caller_turn` returned it):

1. The caller hears the category's `say` line: pre-rendered audio, spoken by `session.say`, not
   interruptible, so neither the model nor a cough can drop it.
2. The model's own reply to the same turn is NOT interrupted. Interrupting a Realtime reply
   cancels it server-side and livekit-agents cancels its tool executions, so a `record_field`
   the model called in the same breath never ran and its `function_call_output` was never
   sent (the call was left unanswered in the model's conversation). The reply plays, its tools
   run, and their outputs go back (each carrying the guard's note, see `steer_note`).
3. `transfer` categories: `handoff_ready` is set once the line was said and the turn's tools
   settled; the agent layer transfers then (interrupting earlier would cancel those tools).
4. `follow_up` categories: the model is steered back to the intake: through the tool outputs'
   note when the model called tools, else by one `generate_reply` after the line, unless the
   model already spoke after the line.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from livekit import rtc
from livekit.agents import AgentSession
from livekit.agents.voice import SpeechHandle
from livekit.agents.voice import events as voice_events

from audio.speech import replayed
from state.protocols import ESCALATION
from tools.checklist import next_step
from tools.context import EscalationReason, EscalationRequest, IntakeUserdata
from tools.escalation import EscalationMatch
from tools.normalize import MAX_INPUT_CHARS, storable_text

logger = logging.getLogger(__name__)

_GENERIC_ESCALATION = "Let me get someone from our team to help you with that."
_CALLBACK_FALLBACK = "Someone from our team will call you back as soon as possible."

# bounded waits: a stuck speech must not keep a caller from a person
LINE_TIMEOUT_S = 20.0
TOOLS_SETTLE_TIMEOUT_S = 8.0

_TOPIC = {
    "pricing": "prices, estimates, rates or discounts",
    "legal": "legal matters, contracts, warranties or liability",
    "urgent": "the emergency",
    "human_request": "the transfer",
}


@dataclass(frozen=True)
class GuardReply:
    category: str
    action: Literal["transfer", "follow_up"]
    say: str
    trigger: str


def plan_reply(ud: IntakeUserdata, match: EscalationMatch) -> GuardReply:
    trigger = ud.playbook.escalation[match.category]
    return GuardReply(match.category, trigger.action, trigger.say, match.phrase)


def steer_note(reply: GuardReply) -> str:
    """Appended to the outputs of the tools the model called on the turn the guard fired."""
    if reply.action == "transfer":
        return (f" (The caller was just told: \"{reply.say}\" A person is taking the call: say "
                "nothing more about it.)")
    return (f" (The caller was just told: \"{reply.say}\" Do not repeat it and do not discuss "
            f"{_TOPIC.get(reply.category, 'it')}. Go on with the intake.)")


def steer_instructions(reply: GuardReply, next_step: str) -> str:
    return (f"The caller was just told: \"{reply.say}\" Do not repeat it and do not discuss "
            f"{_TOPIC.get(reply.category, 'it')}. Acknowledge briefly, then go on with the "
            f"intake. {next_step}")


async def escalate(ud: IntakeUserdata, category: EscalationReason, *,
                   source: Literal["guard", "tool"], detail: str,
                   handoff_ready: asyncio.Event | None = None) -> str:
    """Record an escalation and hand it to the agent's callback; returns what to say.

    `handoff_ready`: set by whoever says the line once the handoff may go on (the guard's
    `GuardResponder`); without it the agent waits for the handoff line itself.
    """
    detail = storable_text(detail[:200])
    trigger = ud.playbook.escalation.get(category) if category != "other" else None
    action: Literal["transfer", "follow_up"] = trigger.action if trigger else "transfer"
    say = trigger.say if trigger else _GENERIC_ESCALATION
    ud.checklist.record_escalation(category, source=source, detail=detail, turn=ud.turn_index)
    await ud.checklist.persist_extras()
    if ud.recorder is not None:
        try:
            await ud.recorder.record(ESCALATION, {"category": category, "source": source,
                                                  "detail": detail[:200], "action": action,
                                                  "turn": ud.turn_index})
        except Exception:
            logger.exception("escalation event not recorded", extra={"category": category})
    first_time = category not in ud.escalated
    ud.escalated.add(category)
    if not first_time or ud.on_escalate is None:
        return say if action == "follow_up" else f"{say} {_CALLBACK_FALLBACK}"
    request = EscalationRequest(category=category, action=action,
                                transfer_number=ud.playbook.transfer_number, source=source,
                                say=say, handoff_ready=handoff_ready)
    try:
        transferring = await ud.on_escalate(request)
    except Exception:
        logger.exception("escalation callback failed", extra={"category": category})
        transferring = False
    if action == "transfer" and not transferring:
        return f"{say} {_CALLBACK_FALLBACK}"
    return say


async def on_caller_turn(ud: IntakeUserdata, text: str) -> EscalationMatch | None:
    """Call once per final caller transcript: advances the turn and runs the escalation guard.

    A match is recorded and handed to `on_escalate` (once per category), whatever the model
    does with the same words; `tools.guard_reply.GuardResponder.act` then says the line and
    sets the request's `handoff_ready`.
    """
    match = check_caller_turn(ud, text)
    if match is not None and match.category not in ud.escalated:
        await record_guard_match(ud, match)
    return match


def check_caller_turn(ud: IntakeUserdata, text: str) -> EscalationMatch | None:
    """The guard's half of `on_caller_turn` that does not wait on anything: the agent starts
    the line from it before the escalation is stored (a store that takes a moment under load
    let the model's own reply play first, and the caller answer it over the line)."""
    ud.turn_index += 1
    match = ud.guard.check(text[:MAX_INPUT_CHARS * 4])
    if match is not None and match.category not in ud.escalated:
        ud.handoff_ready[match.category] = asyncio.Event()
        # set before any tool of this turn returns: its output tells the model what was said
        ud.guard_note = steer_note(plan_reply(ud, match))
        ud.guard_note_turn = ud.turn_index
    return match


async def record_guard_match(ud: IntakeUserdata, match: EscalationMatch) -> None:
    """The other half: the escalation stored and handed to `on_escalate`."""
    await escalate(ud, match.category, source="guard", detail=match.phrase,
                   handoff_ready=ud.handoff_ready.get(match.category))


@dataclass
class StartedLine:
    """The guard's line, started, and the model replies of its turn at that moment."""

    handle: SpeechHandle | None
    turn_speeches: list[SpeechHandle]
    watched_from: int


class GuardResponder:
    """One per call. `say_frames` maps each category's `say` text to its pre-rendered audio."""

    def __init__(self, session: AgentSession[IntakeUserdata],
                 say_frames: Mapping[str, Sequence[rtc.AudioFrame]]) -> None:
        self._session = session
        self._say_frames = say_frames
        self._model_speeches: list[SpeechHandle] = []
        session.on("speech_created", self._on_speech_created)

    def _on_speech_created(self, ev: voice_events.SpeechCreatedEvent) -> None:
        if ev.source != "say":
            self._model_speeches.append(ev.speech_handle)
            del self._model_speeches[:-8]

    def start_line(self, match: EscalationMatch) -> StartedLine:
        """Start the category's line now, ahead of the model's reply if it has not begun."""
        # the model's replies to this turn: those already under way and any created now
        turn_speeches = [s for s in self._model_speeches if not s.done()]
        watched_from = len(self._model_speeches)
        handle = self._say(plan_reply(self._session.userdata, match).say)
        return StartedLine(handle, turn_speeches, watched_from)

    async def act(self, match: EscalationMatch, started: StartedLine | None = None
                  ) -> GuardReply:
        """Say the line (unless `start_line` did), let the turn's tools finish, then hand off
        or steer back."""
        session, ud = self._session, self._session.userdata
        reply = plan_reply(ud, match)  # on_caller_turn set the tools' note already
        executed = asyncio.Event()  # the turn's tools may finish while the line plays

        def on_executed(_ev: Any) -> None:
            executed.set()

        session.on("function_tools_executed", on_executed)
        try:
            started = started or self.start_line(match)
            turn_speeches, watched_from = started.turn_speeches, started.watched_from
            line = started.handle
            if line is not None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(line.wait_for_playout(), LINE_TIMEOUT_S)
            spoke_after_line = len(self._model_speeches) > watched_from
            turn_speeches += self._model_speeches[watched_from:]
            await _tools_settled(ud, turn_speeches, executed)
        finally:
            session.off("function_tools_executed", on_executed)
        ready = ud.handoff_ready.get(match.category)
        if ready is not None:
            ready.set()
        if reply.action == "follow_up" and not spoke_after_line and not _called_tools(ud):
            with contextlib.suppress(RuntimeError):
                session.generate_reply(
                    instructions=steer_instructions(reply, next_step(ud.checklist)))
        return reply

    def _say(self, text: str) -> SpeechHandle | None:
        frames = self._say_frames.get(text)
        try:
            if frames:
                return self._session.say(text, audio=replayed(frames), allow_interruptions=False)
            # no pre-rendered audio (a session without it): the model says the line
            return self._session.generate_reply(
                instructions=f"Say exactly this and nothing else: {text}",
                allow_interruptions=False)
        except RuntimeError:
            logger.warning("could not say the escalation line")
            return None


async def _tools_settled(ud: IntakeUserdata, speeches: Sequence[SpeechHandle],
                         executed: asyncio.Event) -> None:
    """Until no tool of ours runs and each of the turn's model replies is done, or tools ran
    (a reply whose tools ran goes on with a tool reply on the same handle, after the outputs
    were sent)."""
    try:
        async with asyncio.timeout(TOOLS_SETTLE_TIMEOUT_S):
            while ud.tools_running > 0 or not (  # noqa: ASYNC110 (three conditions)
                    executed.is_set() or all(s.done() for s in speeches)):
                await asyncio.sleep(0.05)
    except TimeoutError:
        logger.warning("tools did not settle before the escalation went on")


def _called_tools(ud: IntakeUserdata) -> bool:
    return ud.last_tool_turn == ud.turn_index
