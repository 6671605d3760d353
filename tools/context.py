"""Per-call state the tools reach through `RunContext[IntakeUserdata].userdata`."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from livekit.agents.voice import SpeechHandle

from state.protocols import CallRecorder
from tools.booking import BookingBackend
from tools.checklist import SlotChecklist, extras_hook, recorder_hook
from tools.escalation import EscalationGuard
from tools.playbook import Playbook

EscalationReason = Literal["pricing", "legal", "urgent", "human_request", "other"]
EndReason = Literal[
    "intake_complete", "caller_request", "escalated", "wrong_number", "abusive", "no_response",
    "time_limit",
]


@dataclass(frozen=True)
class EscalationRequest:
    """What the agent layer gets when the call must go to a person."""

    category: EscalationReason
    action: Literal["transfer", "follow_up"]  # from the playbook; "other" always transfers
    transfer_number: str  # E.164, from the playbook
    source: Literal["guard", "tool"]
    say: str  # what the agent tells the caller
    # guard escalations: set once the caller heard `say` and the model's tool calls from the
    # same turn ran (tools.guard_reply); transfer then, not earlier, or those calls are lost.
    # None: the agent waits for the handoff line itself.
    handoff_ready: asyncio.Event | None = field(default=None, compare=False)


# Returns True when the transfer is under way; False (or an exception) makes the tools tell
# the caller someone will call back instead.
EscalateCallback = Callable[[EscalationRequest], Awaitable[bool]]
# Called once the model decided to end the call; the agent says goodbye, then closes the room.
# True: the agent took care of the goodbye (the model's own closing was playing, or the
# playbook's pre-rendered goodbye plays now), so the model must not reply.
EndCallCallback = Callable[[EndReason], Awaitable[bool]]


@dataclass
class IntakeUserdata:
    playbook: Playbook
    checklist: SlotChecklist
    booking: BookingBackend
    call_id: str
    call_start: datetime  # timezone-aware; relative dates resolve against it
    recorder: CallRecorder | None = None
    on_escalate: EscalateCallback | None = None
    on_end_call: EndCallCallback | None = None
    turn_index: int = 0  # the caller turn being handled; slots remember it as source_turn
    guard: EscalationGuard = field(init=False)
    escalated: set[str] = field(default_factory=set)  # categories already handed off
    end_reason: EndReason | None = None
    # Replies shielded from interruption while their tools run (see intake_tools._Recorded).
    # With `hold_reply_shields`, the agent lifts them on `function_tools_executed`, which the
    # framework emits only once the reply has left its background-speech set.
    hold_reply_shields: bool = False
    shielded_replies: list[SpeechHandle] = field(default_factory=list)
    # the guard's escalations (tools.guard_reply): what the turn's tool outputs carry back to
    # the model, and when the handoff may go on
    guard_note: str = ""
    guard_note_turn: int = -1
    handoff_ready: dict[str, asyncio.Event] = field(default_factory=dict)
    tools_running: int = 0
    last_tool_turn: int = -1
    # what "now" is for the tools (business hours); tests fix it
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    def __post_init__(self) -> None:
        if self.call_start.tzinfo is None:
            raise ValueError("call_start must be timezone-aware")
        self.guard = EscalationGuard.from_playbook(self.playbook)

    @classmethod
    def create(
        cls,
        playbook: Playbook,
        booking: BookingBackend,
        *,
        call_id: str,
        recorder: CallRecorder | None = None,
        call_start: datetime | None = None,
        on_escalate: EscalateCallback | None = None,
        on_end_call: EndCallCallback | None = None,
    ) -> IntakeUserdata:
        """A fresh call: the checklist persists each change through the recorder when given."""
        checklist = SlotChecklist(
            playbook, on_change=recorder_hook(recorder) if recorder is not None else None,
            on_extras=extras_hook(recorder) if recorder is not None else None,
        )
        return cls(
            playbook=playbook, checklist=checklist, booking=booking, call_id=call_id,
            call_start=call_start or datetime.now(UTC), recorder=recorder,
            on_escalate=on_escalate, on_end_call=on_end_call,
        )
