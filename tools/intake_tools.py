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
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any, Literal

from livekit.agents import RunContext, ToolError, function_tool
from livekit.agents.voice import SpeechHandle

from state.protocols import ESCALATION, TOOL_CALL
from tools.booking import AppointmentRequest, BookingResult, CallbackRequest, TimeWindow
from tools.checklist import SlotChecklist
from tools.context import EndReason, EscalationReason, EscalationRequest, IntakeUserdata
from tools.escalation import EscalationMatch
from tools.normalize import (
    MAX_INPUT_CHARS,
    NormalizationError,
    guard_input,
    normalize_date,
    normalize_field,
    spoken_digits,
)

logger = logging.getLogger(__name__)

Topic = Literal["hours", "open_now", "services", "service_area", "other"]
DONT_KNOW = "I don't know, but I'll have someone from our team follow up with you on that."
_GENERIC_ESCALATION = "Let me get someone from our team to help you with that."
_CALLBACK_FALLBACK = "Someone from our team will call you back as soon as possible."


# ---------------------------------------------------------------------------- shared helpers


def _field_name(checklist: SlotChecklist, field: str) -> str:
    """The playbook field for what the model passed ("Decision maker" -> decision_maker)."""
    name = re.sub(r"[\s-]+", "_", field.strip().casefold())[:64]
    if name in checklist:
        return name
    known = ", ".join(n.replace("_", " ") for n in checklist.playbook.fields)
    raise ToolError(f"Sorry, I can only note these details: {known}.") from None


def _next_step(checklist: SlotChecklist) -> str:
    unconfirmed = checklist.unconfirmed()
    if unconfirmed:
        return f"Still to confirm by reading back: {', '.join(unconfirmed)}."
    missing = checklist.missing()
    if missing:
        ask = checklist.playbook.fields[missing[0]].ask
        return f"Next ask: \"{ask}\""
    return "All required details are in. Offer an appointment or a callback, then wrap up."


def _read_back(field: str, spoken: str) -> str:
    return (f"Read it back to the caller exactly: \"{spoken}\", ask if that's right, then call "
            f"confirm_field for {field}.")


async def _record_tool_call(ud: IntakeUserdata, name: str, args: Mapping[str, Any],
                            outcome: str) -> None:
    if ud.recorder is None:
        return
    try:
        await ud.recorder.record(TOOL_CALL, {"name": name, "args": dict(args),
                                             "outcome": outcome, "turn": ud.turn_index})
    except Exception:
        logger.exception("tool call event not recorded", extra={"tool": name})


class _Recorded:
    """`async with _Recorded(context, name, args):` records one tool_call event with its outcome.

    It also shields the tool's reply while the tool runs. livekit-agents treats a reply whose
    tools are running as a background speech, and the caller's transcript for the very turn
    that triggered the tool (it often arrives late with the Realtime API) would interrupt it,
    so the model would never speak the result. Barge-in on the reply itself is unaffected:
    interruptions are allowed again as soon as the tool returns.
    """

    def __init__(self, context: RunContext[IntakeUserdata], name: str,
                 args: Mapping[str, Any]) -> None:
        self._context = context
        self._ud, self._name = context.userdata, name
        # the event stream is storage, not logs; still, no 10 KB blobs in it
        self._args = {k: (v[:200] if isinstance(v, str) else v) for k, v in args.items()}
        self._shielded: SpeechHandle | None = None

    async def __aenter__(self) -> None:
        handle = self._context.speech_handle
        if handle.allow_interruptions and not handle.interrupted:
            handle.allow_interruptions = False
            self._shielded = handle
            if self._ud.hold_reply_shields:
                self._ud.shielded_replies.append(handle)

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: object) -> None:
        if self._shielded is not None and not self._ud.hold_reply_shields:
            _allow_interruptions(self._shielded)
        outcome = "ok" if exc is None else ("refused" if isinstance(exc, ToolError) else "failed")
        await _record_tool_call(self._ud, self._name, self._args, outcome)


def _allow_interruptions(handle: SpeechHandle) -> None:
    if not handle.interrupted and not handle.done():
        handle.allow_interruptions = True


def release_reply_shields(ud: IntakeUserdata) -> None:
    """Let the caller barge in on tool replies again; call on `function_tools_executed`."""
    handles, ud.shielded_replies = ud.shielded_replies, []
    for handle in handles:
        _allow_interruptions(handle)


def _now() -> datetime:
    return datetime.now(UTC)


async def _normalize_into(ud: IntakeUserdata, field: str, value: str) -> str:
    """Normalize and store; returns the text for the model. Bad values raise ToolError."""
    spec = ud.playbook.fields[field]
    try:
        normalized = normalize_field(spec, value, region=ud.playbook.phone_region,
                                     call_start=ud.call_start, zone=ud.playbook.zone)
    except NormalizationError as exc:
        logger.info("field value rejected", extra={"field": field, "reason": exc.reason})
        raise ToolError(exc.spoken) from None
    await ud.checklist.record(field, value[:MAX_INPUT_CHARS], normalized, turn=ud.turn_index)
    if spec.confirm:
        return _read_back(field, normalized.spoken)
    return f"Noted {field.replace('_', ' ')}. {_next_step(ud.checklist)}"


# ---------------------------------------------------------------------------- escalation


async def escalate(ud: IntakeUserdata, category: EscalationReason, *,
                   source: Literal["guard", "tool"], detail: str) -> str:
    """Record an escalation and hand it to the agent's callback; returns what to say."""
    trigger = ud.playbook.escalation.get(category) if category != "other" else None
    action: Literal["transfer", "follow_up"] = trigger.action if trigger else "transfer"
    say = trigger.say if trigger else _GENERIC_ESCALATION
    ud.checklist.record_escalation(category, source=source, detail=detail, turn=ud.turn_index)
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
                                say=say)
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
    does with the same words.
    """
    ud.turn_index += 1
    match = ud.guard.check(text[:MAX_INPUT_CHARS * 4])
    if match is not None and match.category not in ud.escalated:
        await escalate(ud, match.category, source="guard", detail=match.phrase)
    return match


# ---------------------------------------------------------------------------- the tools


@function_tool
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
    async with _Recorded(context, "record_field", {"field": field, "value": value}):
        name = _field_name(ud.checklist, field)
        return await _normalize_into(ud, name, value)


@function_tool
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
    async with _Recorded(context, "confirm_field", args):
        name = _field_name(ud.checklist, field)
        slot = ud.checklist.slot(name)
        if correction.strip():
            return await _normalize_into(ud, name, correction)
        if not slot.filled:
            raise ToolError(f"Sorry, I don't have that yet. {ud.playbook.fields[name].ask}")
        if is_correct:
            await ud.checklist.confirm(name, turn=ud.turn_index)
            return f"Confirmed {name.replace('_', ' ')}. {_next_step(ud.checklist)}"
        await ud.checklist.reject(name, turn=ud.turn_index)
        return f"Cleared. Ask again: \"{ud.playbook.fields[name].ask}\""


@function_tool
async def list_missing_fields(context: RunContext[IntakeUserdata]) -> str:
    """List what the intake still needs: missing details and values still to confirm."""
    ud = context.userdata
    async with _Recorded(context, "list_missing_fields", {}):
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


@function_tool
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
    async with _Recorded(context, "answer_business_question", {"topic": topic, "detail": detail}):
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
            state = "open" if playbook.business_hours.is_open(_now()) else "closed"
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


_STOP_WORDS = frozenset({"a", "an", "and", "the", "of", "for", "my", "do", "you", "your", "is",
                         "it", "i", "to", "in", "on", "fix", "repair", "repairs", "service",
                         "services", "can", "with", "work"})


def _words(text: str) -> set[str]:
    words = set(re.findall(r"[a-z]+", text.casefold())) - _STOP_WORDS
    return {w.removesuffix("s") for w in words if len(w) > 2}


def _require_contact(ud: IntakeUserdata) -> tuple[str, str]:
    checklist = ud.checklist
    phone_fields = [n for n, s in ud.playbook.fields.items() if s.type == "phone"]
    phone = next((checklist.slot(n) for n in phone_fields if checklist.slot(n).filled), None)
    name_slot = checklist.slot("name") if "name" in checklist else None
    if phone is None or name_slot is None or name_slot.value is None:
        raise ToolError("Before I set that up, I'll need your name and the best number to "
                        "reach you.")
    if not phone.confirmed and ud.playbook.fields[phone.name].confirm:
        raise ToolError("Before I set that up, let me read your number back to make sure "
                        "I have it right.")
    assert phone.value is not None
    return name_slot.value, phone.value


def _booked_text(kind: str, result: BookingResult, when: str) -> str:
    assert result.confirmed and result.reference
    reference = " ".join(
        spoken_digits(part) if part.isdigit() else " ".join(part) for part in
        result.reference.split("-")
    )
    return (f"The {kind} is confirmed for {when}. The reference is {reference}. Tell the "
            "caller exactly that; don't promise an exact arrival time.")


@function_tool
async def book_appointment(context: RunContext[IntakeUserdata], date: str,
                           time_window: TimeWindow) -> str:
    """Book a visit with the business's scheduling system.

    Only say an appointment is booked when this returns that it is confirmed.

    Args:
        date: The day the caller wants, in their words, e.g. "next Tuesday" or "March 3rd".
        time_window: "morning", "afternoon", "evening" or "any".
    """
    ud = context.userdata
    async with _Recorded(context, "book_appointment", {"date": date, "time_window": time_window}):
        name, phone = _require_contact(ud)
        try:
            day = normalize_date(date, ud.call_start, ud.playbook.zone)
        except NormalizationError as exc:
            raise ToolError(exc.spoken) from None
        iso_day = _iso(day.value)
        if ud.playbook.business_hours.interval(iso_day.weekday()) is None:
            raise ToolError(f"We don't do visits on {iso_day:%A}s. Would another day work?")
        request = AppointmentRequest(
            call_id=ud.call_id, date=day.value, time_window=time_window, name=name, phone=phone,
            problem=_value(ud, "problem"), location=_value(ud, "location"),
        )
        result = await ud.booking.book_appointment(request)
        if not result.confirmed or not result.reference:
            logger.info("appointment not confirmed", extra={"failure": result.failure})
            raise ToolError("I wasn't able to book that just now. Someone from our team will "
                            "call you to set up a time.")
        when = day.spoken if time_window == "any" else f"{day.spoken}, in the {time_window}"
        ud.checklist.record_booking("appointment", result.reference, day.value)
        return _booked_text("appointment", result, when)


@function_tool
async def request_callback(context: RunContext[IntakeUserdata], time_window: TimeWindow,
                           topic: str = "") -> str:
    """Ask the team to call the caller back.

    Only say a callback is arranged when this returns that it is confirmed.

    Args:
        time_window: When the caller prefers: "morning", "afternoon", "evening" or "any".
        topic: A few words on what the callback is about; else "".
    """
    ud = context.userdata
    async with _Recorded(context, "request_callback", {"time_window": time_window, "topic": topic}):
        name, phone = _require_contact(ud)
        if topic:
            try:
                topic = guard_input(topic)[:200]
            except NormalizationError as exc:
                raise ToolError(exc.spoken) from None
        request = CallbackRequest(call_id=ud.call_id, time_window=time_window, name=name,
                                  phone=phone, topic=topic or None)
        result = await ud.booking.request_callback(request)
        if not result.confirmed or not result.reference:
            logger.info("callback not confirmed", extra={"failure": result.failure})
            raise ToolError("I couldn't put the callback in just now, but I've noted your "
                            "details and our team will reach out.")
        when = "any time" if time_window == "any" else f"in the {time_window}"
        ud.checklist.record_booking("callback", result.reference, time_window)
        return _booked_text("callback", result, when)


@function_tool
async def escalate_to_human(context: RunContext[IntakeUserdata], reason: EscalationReason,
                            note: str = "") -> str:
    """Hand the call to a person. Use it for prices or quotes, legal or contract questions,
    emergencies, when the caller asks for a person, or anything you must not decide.

    Args:
        reason: "pricing", "legal", "urgent", "human_request" or "other".
        note: A few words for the team on why; else "".
    """
    ud = context.userdata
    async with _Recorded(context, "escalate_to_human", {"reason": reason, "note": note}):
        detail = note[:200] if note else reason
        return await escalate(ud, reason, source="tool", detail=detail)


@function_tool
async def end_call(context: RunContext[IntakeUserdata], reason: EndReason) -> str:
    """End the call after a short goodbye.

    Args:
        reason: "intake_complete" when every required detail is in and confirmed;
            "caller_request", "escalated", "wrong_number", "abusive", "no_response" or
            "time_limit" otherwise.
    """
    ud = context.userdata
    async with _Recorded(context, "end_call", {"reason": reason}):
        if reason == "intake_complete" and not ud.checklist.is_complete():
            raise ToolError("Before we finish, I still need a couple of details. "
                            + _next_step(ud.checklist))
        if ud.end_reason is None:
            ud.end_reason = reason
            if ud.on_end_call is not None:
                try:
                    await ud.on_end_call(reason)
                except Exception:
                    logger.exception("end call callback failed", extra={"reason": reason})
        return "Say a brief, warm goodbye now. The call ends after it."


def _value(ud: IntakeUserdata, field: str) -> str | None:
    return ud.checklist.slot(field).value if field in ud.checklist else None


def _iso(value: str) -> date:
    return date.fromisoformat(value)


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
