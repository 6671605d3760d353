"""A replacement agent picks the call up: the checklist and the conversation so far, from the
live record, and a line that says where we were instead of a second greeting; and whether the
agent before it left a warm transfer unfinished (a caller on hold, or relayed to a person)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from livekit.agents import llm

from state.protocols import ESCALATION, STATUS, TURN, CallEvent, CallRecorder
from tools.checklist import SlotChecklist, extras_hook, recorder_hook
from tools.playbook import Playbook

RESUME_EVENTS = 60


@dataclass
class RestoredCall:
    checklist: SlotChecklist
    resume_line: str
    # the recent turns, as the model's context
    chat_ctx: llm.ChatContext
    # the category of a warm transfer the agent before left unfinished, else None
    unfinished_transfer: str | None = None


async def restore_call(recorder: CallRecorder, playbook: Playbook) -> RestoredCall:
    checklist = SlotChecklist.from_saved_slots(
        playbook, await recorder.load_slots(),
        on_change=recorder_hook(recorder), on_extras=extras_hook(recorder))
    events = [event for _seq, event in await recorder.recent_events(RESUME_EVENTS)]
    chat_ctx = llm.ChatContext.empty()
    for event in events:
        if event.kind != TURN or event.payload.get("role") not in ("caller", "agent"):
            continue  # a supervisor's words were the hand-back note's, not the agent's
        role: Literal["user", "assistant"] = (
            "user" if event.payload.get("role") == "caller" else "assistant")
        chat_ctx.add_message(role=role, content=str(event.payload.get("text", "")))
    return RestoredCall(checklist, resume_line(checklist), chat_ctx,
                        unfinished_transfer(events))


def unfinished_transfer(events: Iterable[CallEvent]) -> str | None:
    """The category of a warm transfer that was under way when the agent before died: the
    caller put on hold (the person ringing or being briefed), or relayed to the person (the
    relay died with that agent), with no end of it recorded."""
    pending: str | None = None
    for event in events:
        payload = event.payload
        if event.kind == ESCALATION and payload.get("stage") == "hold":
            pending = str(payload.get("category") or "other")
        elif event.kind == ESCALATION and payload.get("stage") == "warm_transfer":
            pending = (str(payload.get("category") or "other") if payload.get("transferred")
                       else None)
        elif event.kind == STATUS and payload.get("status") in ("transfer_ended", "hung_up"):
            pending = None
    return pending


def resume_line(checklist: SlotChecklist) -> str:
    missing = checklist.missing()
    return resume_line_for(missing[0] if missing else None)


def resume_line_for(missing_field: str | None) -> str:
    topic = (f"we were on your {missing_field.replace('_', ' ')}" if missing_field
             else "we were just wrapping up")
    return f"Sorry, I lost you for a second. {topic[0].upper()}{topic[1:]}."


def every_resume_line(playbook: Playbook) -> list[str]:
    """Each line a resumed call may open with (one per field, and the wrap-up): fixed lines,
    rendered at worker start."""
    return [*(resume_line_for(name) for name in playbook.fields), resume_line_for(None)]
