"""The slot checklist: one call's intake record as it fills, derived facts by rule.

The model never keeps the checklist in its head: tools write here, the agent reads what is
missing from here after every turn, and the outcome (missing fields, completeness, recommended
next action) is computed here by rule, never by the model.

Recommended next action, in order (first rule that holds wins):
1. `human_review`: an escalation was recorded, a required field is missing, or a field that
   needs read-back holds a value the caller has not confirmed. A person must look first.
2. `send_followup`: the booking backend confirmed an appointment or callback (send the details),
   or the caller's preferred follow-up channel (the playbook's `followup_channel_field`) is
   anything but `phone` (send the follow-up in writing).
3. `schedule_call`: complete, nothing confirmed, and the caller prefers a call (or said
   nothing), or a booking was only requested (a person calls to confirm it).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal

from state.protocols import SLOT_CHANGED, CallRecorder
from tools.normalize import Normalized
from tools.playbook import Playbook

logger = logging.getLogger(__name__)

NextAction = Literal["send_followup", "schedule_call", "human_review"]
ChangeKind = Literal["recorded", "confirmed", "corrected", "rejected"]
SNAPSHOT_VERSION = 1


@dataclass(frozen=True)
class Slot:
    name: str
    raw: str | None = None  # what the caller said (as the model passed it)
    value: str | None = None  # normalized: E.164, ISO date, bucket or choice name, clean text
    spoken: str | None = None  # read-back form
    confirmed: bool = False
    source_turn: int | None = None
    updated_at: datetime | None = None
    details: Mapping[str, Any] = field(default_factory=dict)

    @property
    def filled(self) -> bool:
        return self.value is not None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "raw": self.raw,
            "value": self.value,
            "spoken": self.spoken,
            "confirmed": self.confirmed,
            "source_turn": self.source_turn,
            "updated_at": self.updated_at.isoformat() if self.updated_at else None,
            "details": dict(self.details),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Slot:
        updated = data.get("updated_at")
        return cls(
            name=str(data["name"]),
            raw=data.get("raw"),
            value=data.get("value"),
            spoken=data.get("spoken"),
            confirmed=bool(data.get("confirmed", False)),
            source_turn=data.get("source_turn"),
            updated_at=datetime.fromisoformat(updated) if updated else None,
            details=dict(data.get("details") or {}),
        )


@dataclass(frozen=True)
class SlotChange:
    kind: ChangeKind
    slot: Slot
    previous_value: str | None


@dataclass(frozen=True)
class EscalationRecord:
    category: str  # a playbook category or "other"
    source: Literal["guard", "tool"]
    detail: str  # the matched phrase (guard) or the model's stated reason (tool)
    turn: int | None
    at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {"category": self.category, "source": self.source, "detail": self.detail,
                "turn": self.turn, "at": self.at.isoformat()}


BookingStatus = Literal["confirmed", "requested"]


@dataclass(frozen=True)
class BookingRecord:
    kind: Literal["appointment", "callback"]
    reference: str | None  # the backend's, for a confirmed booking; None for a request
    when: str | None
    at: datetime
    status: BookingStatus = "confirmed"  # requested: a person still has to confirm it

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "reference": self.reference, "when": self.when,
                "at": self.at.isoformat(), "status": self.status}


OnChange = Callable[[SlotChange], Awaitable[None]]
# escalations and bookings, saved beside the slots under this reserved name so a replacement
# agent restores them with the slots (a resumed call must end with the same outcome)
EXTRAS_SLOT = "__extras__"
OnExtras = Callable[[dict[str, Any]], Awaitable[None]]
Clock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(UTC)


class SlotChecklist:
    """The playbook's fields for one call. Mutations are async so `on_change` can persist."""

    def __init__(self, playbook: Playbook, *, on_change: OnChange | None = None,
                 clock: Clock = _utc_now, on_extras: OnExtras | None = None) -> None:
        self.playbook = playbook
        self.on_change = on_change
        self.on_extras = on_extras
        self._clock = clock
        self._slots = {name: Slot(name) for name in playbook.fields}
        self.escalations: list[EscalationRecord] = []
        self.bookings: list[BookingRecord] = []

    # ------------------------------------------------------------------ reading

    def __contains__(self, name: object) -> bool:
        return name in self._slots

    def slot(self, name: str) -> Slot:
        return self._slots[name]

    @property
    def slots(self) -> dict[str, Slot]:
        return dict(self._slots)

    def needs_confirmation(self, name: str) -> bool:
        return self.playbook.fields[name].confirm

    def missing(self) -> list[str]:
        """Required fields with no value, in playbook order."""
        return [n for n in self.playbook.required_fields() if not self._slots[n].filled]

    def missing_optional(self) -> list[str]:
        return [n for n, spec in self.playbook.fields.items()
                if not spec.required and not self._slots[n].filled]

    def unconfirmed(self) -> list[str]:
        """Fields holding a value that still needs the caller's yes."""
        return [n for n, s in self._slots.items()
                if s.filled and not s.confirmed and self.needs_confirmation(n)]

    def is_complete(self) -> bool:
        return not self.missing() and not self.unconfirmed()

    def completeness(self) -> float:
        """Share of required fields that are filled and, where needed, confirmed (0.0-1.0)."""
        required = self.playbook.required_fields()
        done = [n for n in required if self._slots[n].filled
                and (self._slots[n].confirmed or not self.needs_confirmation(n))]
        return len(done) / len(required)

    def next_action(self) -> NextAction:
        """The recommended next action, by the rule in this module's docstring."""
        if self.escalations or self.missing() or self.unconfirmed():
            return "human_review"
        if any(b.status == "confirmed" for b in self.bookings):
            return "send_followup"
        if self.bookings:
            return "schedule_call"
        channel_field = self.playbook.followup_channel_field
        channel = self._slots[channel_field].value if channel_field else None
        if channel is not None and channel != "phone":
            return "send_followup"
        return "schedule_call"

    # ------------------------------------------------------------------ writing

    async def record(self, name: str, raw: str, normalized: Normalized, *,
                     turn: int | None) -> SlotChange:
        """Store a new value. A changed value needs confirming again; the same one keeps its yes."""
        previous = self._slots[name]
        confirmed = previous.confirmed and previous.value == normalized.value
        changed = previous.filled and previous.value != normalized.value
        kind: ChangeKind = "corrected" if changed else "recorded"
        slot = Slot(name, raw=raw, value=normalized.value, spoken=normalized.spoken,
                    confirmed=confirmed, source_turn=turn, updated_at=self._clock(),
                    details=dict(normalized.details))
        return await self._apply(kind, slot, previous)

    async def confirm(self, name: str, *, turn: int | None) -> SlotChange:
        previous = self._slots[name]
        if not previous.filled:
            raise ValueError("nothing to confirm")
        slot = replace(previous, confirmed=True, updated_at=self._clock())
        return await self._apply("confirmed", slot, previous)

    async def reject(self, name: str, *, turn: int | None) -> SlotChange:
        """The caller said the read-back is wrong and gave no correction: the value is void."""
        previous = self._slots[name]
        slot = Slot(name, source_turn=turn, updated_at=self._clock())
        return await self._apply("rejected", slot, previous)

    def record_escalation(self, category: str, *, source: Literal["guard", "tool"], detail: str,
                          turn: int | None) -> EscalationRecord:
        record = EscalationRecord(category, source, detail[:200], turn, self._clock())
        self.escalations.append(record)
        return record

    def record_booking(self, kind: Literal["appointment", "callback"], reference: str | None,
                       when: str | None, *, status: BookingStatus = "confirmed"
                       ) -> BookingRecord:
        if status == "confirmed" and not reference:
            raise ValueError("a confirmed booking needs the backend's reference")
        record = BookingRecord(kind, reference, when, self._clock(), status)
        self.bookings.append(record)
        return record

    def extras(self) -> dict[str, Any]:
        return {"escalations": [e.to_dict() for e in self.escalations],
                "bookings": [b.to_dict() for b in self.bookings]}

    async def persist_extras(self) -> None:
        """Save escalations and bookings (after `record_escalation` / `record_booking`)."""
        if self.on_extras is None:
            return
        try:
            await self.on_extras(self.extras())
        except Exception:
            # the live call goes on; the record keeps them in memory and in the outcome
            logger.exception("escalations and bookings not saved")

    async def _apply(self, kind: ChangeKind, slot: Slot, previous: Slot) -> SlotChange:
        self._slots[slot.name] = slot
        change = SlotChange(kind, slot, previous.value)
        if self.on_change is not None:
            try:
                await self.on_change(change)
            except Exception:
                # the live call goes on; the slot is in memory and in the next snapshot
                logger.exception("slot change hook failed", extra={"field": slot.name})
        return change

    # ------------------------------------------------------------------ persistence

    def snapshot(self) -> dict[str, Any]:
        """JSON-safe state, for Redis; `from_snapshot` restores it."""
        return {
            "version": SNAPSHOT_VERSION,
            "slots": {name: slot.to_dict() for name, slot in self._slots.items()},
            "escalations": [e.to_dict() for e in self.escalations],
            "bookings": [b.to_dict() for b in self.bookings],
        }

    @classmethod
    def from_snapshot(cls, playbook: Playbook, data: Mapping[str, Any], *,
                      on_change: OnChange | None = None, clock: Clock = _utc_now,
                      on_extras: OnExtras | None = None) -> SlotChecklist:
        """Restore a checklist; slots for fields the playbook no longer has are dropped."""
        checklist = cls(playbook, on_change=on_change, clock=clock, on_extras=on_extras)
        for name, slot in (data.get("slots") or {}).items():
            if name in checklist._slots:
                checklist._slots[name] = Slot.from_dict(slot)
        for e in data.get("escalations") or []:
            checklist.escalations.append(EscalationRecord(
                e["category"], e["source"], e["detail"], e.get("turn"),
                datetime.fromisoformat(e["at"])))
        for b in data.get("bookings") or []:
            checklist.bookings.append(BookingRecord(
                b["kind"], b.get("reference"), b.get("when"), datetime.fromisoformat(b["at"]),
                b.get("status", "confirmed")))
        return checklist

    @classmethod
    def from_saved_slots(cls, playbook: Playbook, saved: Mapping[str, Mapping[str, Any]], *,
                         on_change: OnChange | None = None,
                         on_extras: OnExtras | None = None) -> SlotChecklist:
        """The checklist a call's saved slots describe (`recorder_hook` and `extras_hook`
        save them): a resumed call's, or a dead call's for the orphan watcher's outcome."""
        slots = dict(saved)
        extras = slots.pop(EXTRAS_SLOT, {})
        return cls.from_snapshot(
            playbook, {"slots": slots, "escalations": extras.get("escalations") or [],
                       "bookings": extras.get("bookings") or []},
            on_change=on_change, on_extras=on_extras)

    def outcome(self) -> dict[str, Any]:
        """The draft outcome for `CallRecorder.finish`."""
        return {
            "fields": {n: s.value for n, s in self._slots.items() if s.filled},
            "confirmed": sorted(n for n, s in self._slots.items() if s.confirmed),
            "missing_fields": self.missing(),
            "unconfirmed_fields": self.unconfirmed(),
            "completeness": round(self.completeness(), 3),
            "escalation_reason": self.escalations[0].category if self.escalations else None,
            "escalations": [e.to_dict() for e in self.escalations],
            "bookings": [b.to_dict() for b in self.bookings],
            "recommended_next_action": self.next_action(),
        }


def extras_hook(recorder: CallRecorder) -> OnExtras:
    """An `on_extras` that saves escalations and bookings beside the slots."""

    async def on_extras(extras: dict[str, Any]) -> None:
        await recorder.save_slot(EXTRAS_SLOT, extras)

    return on_extras


def recorder_hook(recorder: CallRecorder) -> OnChange:
    """An `on_change` that saves the slot and appends a `slot_changed` event."""

    async def on_change(change: SlotChange) -> None:
        await recorder.save_slot(change.slot.name, change.slot.to_dict())
        await recorder.record(SLOT_CHANGED, {
            "field": change.slot.name,
            "change": change.kind,
            "value": change.slot.value,
            "confirmed": change.slot.confirmed,
            "source_turn": change.slot.source_turn,
        })

    return on_change


def next_step(checklist: SlotChecklist) -> str:
    """What the model should do next for the intake, as a short instruction."""
    unconfirmed = checklist.unconfirmed()
    if unconfirmed:
        return f"Still to confirm by reading back: {', '.join(unconfirmed)}."
    missing = checklist.missing()
    if missing:
        ask = checklist.playbook.fields[missing[0]].ask
        return f"Next ask: \"{ask}\""
    return "All required details are in. Offer an appointment or a callback, then wrap up."
