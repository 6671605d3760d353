"""The booking tools: an appointment or a callback, confirmed only by the backend's reference."""

from __future__ import annotations

import logging

from livekit.agents import RunContext, ToolError, function_tool

from tools.booking import AppointmentRequest, BookingResult, CallbackRequest, TimeWindow
from tools.context import IntakeUserdata
from tools.normalize import (
    NormalizationError,
    guard_input,
    normalize_date,
    spoken_digits,
)
from tools.tool_calls import (
    Recorded,
    iso_date,
    slot_value,
    with_guard_note,
)

logger = logging.getLogger("tools.intake_tools")

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


def _requested_text(what: str) -> str:
    return (f"Request taken, not booked: a person from our team will call the caller to confirm "
            f"{what}. Tell the caller exactly that; never say it is booked or confirmed.")


@function_tool
@with_guard_note
async def book_appointment(context: RunContext[IntakeUserdata], date: str,
                           time_window: TimeWindow) -> str:
    """Book a visit with the business's scheduling system.

    Only say an appointment is booked when this returns that it is confirmed.

    Args:
        date: The day the caller wants, in their words, e.g. "next Tuesday" or "March 3rd".
        time_window: "morning", "afternoon", "evening" or "any".
    """
    ud = context.userdata
    async with Recorded(context, "book_appointment", {"date": date, "time_window": time_window}):
        name, phone = _require_contact(ud)
        try:
            day = normalize_date(date, ud.call_start, ud.playbook.zone)
        except NormalizationError as exc:
            raise ToolError(exc.spoken) from None
        iso_day = iso_date(day.value)
        if ud.playbook.business_hours.interval(iso_day.weekday()) is None:
            raise ToolError(f"We don't do visits on {iso_day:%A}s. Would another day work?")
        request = AppointmentRequest(
            call_id=ud.call_id, date=day.value, time_window=time_window, name=name, phone=phone,
            problem=slot_value(ud, "problem"), location=slot_value(ud, "location"),
        )
        result = await ud.booking.book_appointment(request)
        when = day.spoken if time_window == "any" else f"{day.spoken}, in the {time_window}"
        if result.requested:
            ud.checklist.record_booking("appointment", None, day.value, status="requested")
            await ud.checklist.persist_extras()
            return _requested_text(f"a visit for {when}")
        if not result.confirmed or not result.reference:
            logger.info("appointment not confirmed", extra={"failure": result.failure})
            raise ToolError("I wasn't able to book that just now. Someone from our team will "
                            "call you to set up a time.")
        ud.checklist.record_booking("appointment", result.reference, day.value)
        await ud.checklist.persist_extras()
        return _booked_text("appointment", result, when)


@function_tool
@with_guard_note
async def request_callback(context: RunContext[IntakeUserdata], time_window: TimeWindow,
                           topic: str = "") -> str:
    """Ask the team to call the caller back.

    Only say a callback is arranged when this returns that it is confirmed.

    Args:
        time_window: When the caller prefers: "morning", "afternoon", "evening" or "any".
        topic: A few words on what the callback is about; else "".
    """
    ud = context.userdata
    async with Recorded(context, "request_callback", {"time_window": time_window, "topic": topic}):
        name, phone = _require_contact(ud)
        if topic:
            try:
                topic = guard_input(topic)[:200]
            except NormalizationError as exc:
                raise ToolError(exc.spoken) from None
        request = CallbackRequest(call_id=ud.call_id, time_window=time_window, name=name,
                                  phone=phone, topic=topic or None)
        result = await ud.booking.request_callback(request)
        when = "any time" if time_window == "any" else f"in the {time_window}"
        if result.requested:
            ud.checklist.record_booking("callback", None, time_window, status="requested")
            await ud.checklist.persist_extras()
            return _requested_text(f"a call back {when}")
        if not result.confirmed or not result.reference:
            logger.info("callback not confirmed", extra={"failure": result.failure})
            raise ToolError("I couldn't put the callback in just now, but I've noted your "
                            "details and our team will reach out.")
        ud.checklist.record_booking("callback", result.reference, time_window)
        await ud.checklist.persist_extras()
        return _booked_text("callback", result, when)
