"""A replacement agent picks the call up: the checklist and the conversation so far, from the
live record, and a line that says where we were instead of a second greeting."""

from __future__ import annotations

from typing import Literal

from livekit.agents import llm

from state.protocols import TURN, CallRecorder
from tools.checklist import SlotChecklist, extras_hook, recorder_hook
from tools.playbook import Playbook

RESUME_EVENTS = 60


async def restore_call(recorder: CallRecorder, playbook: Playbook,
                       ) -> tuple[SlotChecklist, str, llm.ChatContext]:
    """The restored checklist, the resume line, and the recent turns as the model's context."""
    checklist = SlotChecklist.from_saved_slots(
        playbook, await recorder.load_slots(),
        on_change=recorder_hook(recorder), on_extras=extras_hook(recorder))
    chat_ctx = llm.ChatContext.empty()
    for _seq, event in await recorder.recent_events(RESUME_EVENTS):
        if event.kind != TURN or event.payload.get("role") not in ("caller", "agent"):
            continue  # a supervisor's words were the hand-back note's, not the agent's
        role: Literal["user", "assistant"] = (
            "user" if event.payload.get("role") == "caller" else "assistant")
        chat_ctx.add_message(role=role, content=str(event.payload.get("text", "")))
    return checklist, resume_line(checklist), chat_ctx


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
