"""An operator's edit of a stored outcome, by the agent's own rules.

Values go through the same normalizers the tools use (`normalize_field`), and what follows from
the fields (missing, unconfirmed, recommended next action) is recomputed by `SlotChecklist`, so
"512 555 0142" becomes +15125550142 here exactly as on a call, and the next action cannot
disagree with what the agent would have recommended for the same record.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from tools.checklist import SlotChecklist
from tools.normalize import NormalizationError, normalize_field
from tools.playbook import ESCALATION_CATEGORIES, Playbook

ESCALATION_REASON = "escalation_reason"
ESCALATION_CHOICES: tuple[str, ...] = (*ESCALATION_CATEGORIES, "other")

# what a normalizer's reason means to an operator (the caller-facing `spoken` text is for calls)
_REASONS = {
    "unparseable date": "not a date (try 2026-03-06 or \"next Friday\")",
    "date in the past": "that date is before the call; a deadline cannot be in the past",
    "date too far ahead": "more than two years after the call",
    "weekday mismatch": "the weekday does not match the date",
    "invalid phone number": "not a valid phone number",
    "unparseable phone number": "not a phone number",
    "no digits": "not a phone number",
    "instruction override": "reads like an instruction, not a value",
    "input too long": "too long",
    "empty input": "empty",
    "no amount": "no amount or budget name",
}


class FieldEditError(ValueError):
    """An edit refused; `field` names the input, the message says why (safe to show)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def normalize_changes(playbook: Playbook, changes: Mapping[str, str | None], *,
                      call_start: datetime) -> dict[str, str | None]:
    """Each changed value normalized for its field; None or blank clears. Raises FieldEditError
    naming every refused field (the first one's message, all names in `errors`)."""
    result: dict[str, str | None] = {}
    errors: list[FieldEditError] = []
    for name, raw in changes.items():
        text = (raw or "").strip()
        if name == ESCALATION_REASON:
            if text and text not in ESCALATION_CHOICES:
                errors.append(FieldEditError(name, "must be one of "
                                             + ", ".join(ESCALATION_CHOICES)))
            result[name] = text or None
            continue
        spec = playbook.fields.get(name)
        if spec is None:
            errors.append(FieldEditError(name, "not a field of this playbook"))
            continue
        if not text:
            result[name] = None
            continue
        try:
            result[name] = normalize_field(spec, text, region=playbook.phone_region,
                                           call_start=call_start, zone=playbook.zone).value
        except NormalizationError as exc:
            message = _REASONS.get(exc.reason, exc.reason)
            if spec.type in ("enum", "money_range"):
                message = "must be one of " + ", ".join(spec.enum_values)
            errors.append(FieldEditError(name, message))
    if errors:
        raise FieldEditErrors(errors)
    return result


class FieldEditErrors(FieldEditError):
    """Several refused fields; `errors` has each."""

    def __init__(self, errors: Sequence[FieldEditError]) -> None:
        super().__init__(errors[0].field, errors[0].message)
        self.errors = list(errors)


def checklist_for(playbook: Playbook, outcome: Mapping[str, Any],
                  bookings: Sequence[Mapping[str, Any]] = ()) -> SlotChecklist:
    """A checklist holding the outcome's fields: confirmed unless listed as unconfirmed, one
    escalation if the outcome names a reason, and the call's bookings."""
    unconfirmed = set(outcome.get("unconfirmed_fields") or [])
    at = datetime.now(UTC).isoformat()
    slots = {name: {"name": name, "value": value, "confirmed": name not in unconfirmed}
             for name, value in (outcome.get("fields") or {}).items()
             if isinstance(value, str)}
    reason = outcome.get(ESCALATION_REASON)
    escalations = ([{"category": reason, "source": "tool", "detail": "", "turn": None,
                     "at": at}] if reason else [])
    booked = [{"kind": b["kind"], "reference": b["reference"], "when": b.get("when"),
               "at": b.get("at") or at} for b in bookings]
    return SlotChecklist.from_snapshot(playbook, {"slots": slots, "escalations": escalations,
                                                  "bookings": booked})


def derive_outcome(playbook: Playbook, outcome: Mapping[str, Any],
                   bookings: Sequence[Mapping[str, Any]] = ()) -> dict[str, Any]:
    """The outcome with missing, unconfirmed and next action recomputed from its fields."""
    checklist = checklist_for(playbook, outcome, bookings)
    return {**outcome, "missing_fields": checklist.missing(),
            "unconfirmed_fields": checklist.unconfirmed(),
            "recommended_next_action": checklist.next_action()}
