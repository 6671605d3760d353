"""How values read on the page: masked caller numbers, durations, local times, labels."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import phonenumbers

MASK = "\u2022"  # bullet

NEXT_ACTION_LABELS = {
    "human_review": "Needs a person",
    "send_followup": "Send follow-up",
    "schedule_call": "Schedule a call",
}


def mask_phone(e164: str | None) -> str:
    """'+15125550142' -> '+1 512 ••• ••42': country code, first group and last two digits."""
    if not e164:
        return "unknown"
    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return MASK * 4 + e164[-2:] if len(e164) > 4 else MASK * 4
    formatted = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    groups = formatted.replace("-", " ").split()
    if len(groups) < 3:
        digits = str(parsed.national_number)
        return f"+{parsed.country_code} " + MASK * max(0, len(digits) - 2) + digits[-2:]
    head, middle, tail = groups[:2], groups[2:-1], groups[-1]
    masked = [MASK * len(g) for g in middle] + [MASK * (len(tail) - 2) + tail[-2:]]
    return " ".join([*head, *masked])


def pretty_phone(e164: str | None) -> str:
    if not e164:
        return "unknown"
    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    whole = round(seconds)
    return f"{whole // 60}:{whole % 60:02d}"


def local_time(iso: str | None, zone: ZoneInfo, fmt: str = "%b %d, %H:%M") -> str:
    if not iso:
        return "–"
    return datetime.fromisoformat(iso).astimezone(zone).strftime(fmt)


def label(name: str | None) -> str:
    """'followup_channel' -> 'Followup channel'."""
    if not name:
        return "–"
    text = name.replace("_", " ")
    return text[:1].upper() + text[1:]


def next_action_label(action: str | None) -> str:
    return NEXT_ACTION_LABELS.get(action or "", label(action))
