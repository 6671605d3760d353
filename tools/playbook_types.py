"""The playbook's building blocks: its enumerations, text types and base model."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    StringConstraints,
)

FieldType = Literal["phone", "date", "money_range", "enum", "free_text"]
EscalationCategory = Literal["pricing", "legal", "urgent", "human_request"]
ESCALATION_CATEGORIES: tuple[EscalationCategory, ...] = (
    "urgent", "human_request", "legal", "pricing",
)  # priority order when one utterance matches several categories
Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
WEEKDAYS: tuple[Weekday, ...] = (
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
)

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
FieldName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")]

# Text the tools may speak verbatim must not carry prices: no tool may quote one.
MONEY_RE = re.compile(
    r"[$€£]\s*\d|\b\d[\d,.]*\s*(?:dollars?|usd|bucks|euros?)\b", re.IGNORECASE
)
HOURS_RE = re.compile(r"^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$")


def no_prices(value: str) -> str:
    if MONEY_RE.search(value):
        raise ValueError("must not contain prices (no tool may quote a price)")
    return value


class PlaybookModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
