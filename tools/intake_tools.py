"""The function tools the model may call during intake.

Each tool validates its arguments, does one fast thing through `IntakeUserdata`, and returns a
short text for the model to act on. Domain problems raise `ToolError` whose text is what the
caller should hear; a bad value never replaces the slot's last good one.

What no tool can do, by construction: quote a price (no tool has a price to give, and playbook
text the tools speak is validated price-free), commit to legal terms (no tool takes or returns
terms; legal questions escalate), or confirm a booking the backend did not confirm (the only
"booked" text is built from a confirmed `BookingResult` with a reference).
"""

from __future__ import annotations

import logging
import re
from typing import Literal

from livekit.agents import RunContext, ToolError, function_tool
from livekit.agents.llm import ToolResult

from tools.booking_tools import book_appointment, request_callback
from tools.checklist import next_step
from tools.context import EndReason, EscalationReason, IntakeUserdata
from tools.guard_reply import escalate
from tools.normalize import (
    NormalizationError,
    guard_input,
)
from tools.tool_calls import (
    Recorded,
    field_name,
    normalize_into,
    with_guard_note,
)

logger = logging.getLogger(__name__)

Topic = Literal["hours", "open_now", "services", "service_area", "other"]
DONT_KNOW = "I don't know, but I'll have someone from our team follow up with you on that."


# ---------------------------------------------------------------------------- the tools


@function_tool
@with_guard_note
async def record_field(context: RunContext[IntakeUserdata], field: str, value: str) -> str:
    """Save one detail the caller just gave, in the caller's own words.

    Call this as soon as the caller gives any checklist detail. For phone numbers and dates
    the result tells you how to read the value back; do that, then call confirm_field.

    Args:
        field: The checklist field name, e.g. "problem", "phone", "deadline".
        value: What the caller said for it, e.g. "five one two, five five five, zero one
            zero zero" or "next Friday". Do not invent or reformat values.
    """
    ud = context.userdata
    async with Recorded(context, "record_field", {"field": field, "value": value}):
        name = field_name(ud.checklist, field)
        return await normalize_into(ud, name, value)


@function_tool
@with_guard_note
async def confirm_field(context: RunContext[IntakeUserdata], field: str, is_correct: bool,
                        correction: str = "") -> str:
    """Record the caller's answer after you read a value back.

    Args:
        field: The checklist field you read back.
        is_correct: True when the caller said the read-back is right.
        correction: The corrected value when the caller gave one, in their words; else "".
    """
    ud = context.userdata
    args = {"field": field, "is_correct": is_correct, "correction": correction}
    async with Recorded(context, "confirm_field", args):
        name = field_name(ud.checklist, field)
        slot = ud.checklist.slot(name)
        if correction.strip():
            return await normalize_into(ud, name, correction)
        if not slot.filled:
            raise ToolError(f"Sorry, I don't have that yet. {ud.playbook.fields[name].ask}")
        if is_correct:
            await ud.checklist.confirm(name, turn=ud.turn_index)
            return f"Confirmed {name.replace('_', ' ')}. {next_step(ud.checklist)}"
        await ud.checklist.reject(name, turn=ud.turn_index)
        return f"Cleared. Ask again: \"{ud.playbook.fields[name].ask}\""


@function_tool
@with_guard_note
async def list_missing_fields(context: RunContext[IntakeUserdata]) -> str:
    """List what the intake still needs: missing details and values still to confirm."""
    ud = context.userdata
    async with Recorded(context, "list_missing_fields", {}):
        checklist = ud.checklist
        parts = []
        if checklist.missing():
            parts.append("Missing: " + ", ".join(checklist.missing()) + ".")
        if checklist.unconfirmed():
            parts.append("To confirm: " + ", ".join(checklist.unconfirmed()) + ".")
        optional = checklist.missing_optional()
        if optional:
            parts.append("Optional, ask if natural: " + ", ".join(optional) + ".")
        if not checklist.missing() and not checklist.unconfirmed():
            parts.insert(0, "All required details are in.")
        return " ".join(parts)


_STOP_WORDS = frozenset({"a", "an", "and", "the", "of", "for", "my", "do", "you", "your", "is",
                         "it", "i", "to", "in", "on", "fix", "repair", "repairs", "service",
                         "services", "can", "with", "work"})


def _words(text: str) -> set[str]:
    words = set(re.findall(r"[a-z]+", text.casefold())) - _STOP_WORDS
    return {w.removesuffix("s") for w in words if len(w) > 2}


@function_tool
@with_guard_note
async def answer_business_question(context: RunContext[IntakeUserdata], topic: Topic,
                                   detail: str = "") -> str:
    """Answer a caller's question about the business, only from what the business told us.

    Never answer business questions from your own knowledge; for prices, legal matters or
    anything else not covered, use topic "other".

    Args:
        topic: "hours", "open_now", "services", "service_area" or "other".
        detail: The service or place asked about, e.g. "water heater" or "Round Rock"; else "".
    """
    ud = context.userdata
    async with Recorded(context, "answer_business_question", {"topic": topic, "detail": detail}):
        playbook = ud.playbook
        if detail:
            try:
                detail = guard_input(detail)
            except NormalizationError as exc:
                raise ToolError(exc.spoken) from None
        if topic == "hours":
            hours = playbook.business_hours
            return f"{hours.spoken()} {hours.note}".strip()
        if topic == "open_now":
            state = "open" if playbook.business_hours.is_open(ud.clock()) else "closed"
            return f"We're {state} right now. {playbook.business_hours.spoken()}"
        if topic == "services":
            if not detail:
                names = [s.name for s in playbook.services]
                return "We offer " + ", ".join(names[:-1]) + f" and {names[-1]}."
            words = _words(detail)
            for service in playbook.services:
                if words & _words(f"{service.name} {service.description}"):
                    return f"Yes, that's part of our {service.name}: {service.description}."
            return DONT_KNOW
        if topic == "service_area":
            area = playbook.service_area
            if not detail:
                return area.description
            asked = detail.casefold()
            for place in area.places:
                if re.search(rf"\b{re.escape(place.casefold())}\b", asked):
                    return f"Yes, we serve {place}."
            return f"{area.description} {DONT_KNOW}"
        return DONT_KNOW


@function_tool
@with_guard_note
async def escalate_to_human(context: RunContext[IntakeUserdata], reason: EscalationReason,
                            note: str = "") -> str:
    """Hand the call to a person. Use it for prices or quotes, legal or contract questions,
    emergencies, when the caller asks for a person, or anything you must not decide.

    Args:
        reason: "pricing", "legal", "urgent", "human_request" or "other".
        note: A few words for the team on why; else "".
    """
    ud = context.userdata
    async with Recorded(context, "escalate_to_human", {"reason": reason, "note": note}):
        detail = note[:200] if note else reason
        return await escalate(ud, reason, source="tool", detail=detail)


# the model's output when the agent says the goodbye itself: no reply follows, so ending a call
# costs no second round trip to the model
GOODBYE_SAID = "The goodbye is being said for you and the call ends after it. Say nothing more."
ALREADY_ENDING = "The call is already ending. Say nothing more."


@function_tool
@with_guard_note
async def end_call(context: RunContext[IntakeUserdata], reason: EndReason) -> str | ToolResult:
    """End the call. Say your closing words (what happens next) in the same reply, before
    calling this; if you say nothing, a short goodbye is said for you.

    Args:
        reason: "intake_complete" when every required detail is in and confirmed;
            "caller_request", "escalated", "wrong_number", "abusive", "no_response" or
            "time_limit" otherwise.
    """
    ud = context.userdata
    async with Recorded(context, "end_call", {"reason": reason}):
        if reason == "intake_complete" and not ud.checklist.is_complete():
            raise ToolError("Before we finish, I still need a couple of details. "
                            + next_step(ud.checklist))
        if ud.end_reason is not None:
            return ToolResult(ALREADY_ENDING, reply_required=False)
        ud.end_reason = reason
        said = False
        if ud.on_end_call is not None:
            try:
                said = await ud.on_end_call(reason)
            except Exception:
                logger.exception("end call callback failed", extra={"reason": reason})
        if said:
            return ToolResult(GOODBYE_SAID, reply_required=False)
        # nothing of ours can say it (no pre-rendered goodbye): the model does
        return "Say a brief, warm goodbye now. The call ends after it."


INTAKE_TOOLS = [
    record_field,
    confirm_field,
    list_missing_fields,
    answer_business_question,
    book_appointment,
    request_callback,
    escalate_to_human,
    end_call,
]
