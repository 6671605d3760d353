"""The playbook's outbound block: calling hours, the opening and voicemail lines, ring time."""

from __future__ import annotations

import re
from datetime import time
from typing import Annotated

import phonenumbers
from pydantic import (
    Field,
    StringConstraints,
    field_validator,
)

from tools.business_hours import (
    OpenInterval,
    WeeklyHours,
)
from tools.playbook_types import (
    WEEKDAYS,
    PlaybookModel,
    Text,
    no_prices,
)

# The callee's local time outside which nobody is called, whatever the playbook says (the
# TCPA's 8 AM to 9 PM; many states are stricter, so a playbook can only narrow it).
LEGAL_CALLING_WINDOW = OpenInterval(time(8, 0), time(21, 0))
_PLACEHOLDER_RE = re.compile(r"[{}<>\[\]]")


class OutboundSettings(PlaybookModel):
    """Calls we place to leads (`intake call NUMBER`)."""

    # when we may call, in the business's time zone; default: the business hours. The callee's
    # own 8:00-21:00 applies on top, always.
    calling_hours: WeeklyHours | None = None
    # said when a person answers, before the first question: who is calling, that it is an AI,
    # and why; the recording notice is added when the playbook requires consent
    opening: Text | None = None
    # left on an answering machine: the business and a number to call back, nothing about the
    # lead (anyone with access to the mailbox hears it)
    voicemail_message: Annotated[str, StringConstraints(
        strip_whitespace=True, min_length=1, max_length=300)] | None = None
    # the number said in the default voicemail message; default: the transfer number
    callback_number: str | None = None
    ring_timeout_seconds: int = Field(default=30, ge=10, le=120)

    @field_validator("calling_hours")
    @classmethod
    def _some_hours(cls, value: WeeklyHours | None) -> WeeklyHours | None:
        if value is not None and all(
                getattr(value, day).strip().lower() == "closed" for day in WEEKDAYS):
            raise ValueError("calling_hours must be open on at least one day")
        return value

    @field_validator("opening", "voicemail_message")
    @classmethod
    def _spoken_as_is(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if _PLACEHOLDER_RE.search(value):
            raise ValueError("is spoken as written: no placeholders or brackets")
        return no_prices(value)

    @field_validator("callback_number")
    @classmethod
    def _callback_e164(cls, value: str | None) -> str | None:
        return None if value is None else e164_number(value)


def e164_number(value: str) -> str:
    try:
        parsed = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        raise ValueError("must be an E.164 number like +15125550100") from None
    formatted = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    if not phonenumbers.is_valid_number(parsed) or formatted != value:
        raise ValueError("must be a valid E.164 number like +15125550100")
    return value
