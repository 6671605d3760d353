"""Event validation and the one wire format an event has in the Redis stream.

Validation happens on the hot path before anything is written, so a bad event is refused at
the source; the writer validates again on the way out, because the stream may hold entries
written by older code or by hand.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from state.protocols import CallEvent

# A turn is a sentence or a paragraph; a tool call carries a few fields. Anything bigger is a
# bug (a whole document pasted into an event) and would slow every reader of the stream.
MAX_EVENT_BYTES = 32 * 1024
MAX_DEPTH = 8
KIND_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
TURN_ROLES = frozenset({"caller", "agent", "supervisor", "system"})
WIRE_VERSION = "1"
OUTCOME = "outcome"  # the draft outcome, written through the stream so it is as durable as a turn
# what a supervisor did (`supervision` events); every one names the supervisor's account
SUPERVISION_ACTIONS = frozenset({
    "listen_start", "listen_stop", "whisper", "take_over", "hand_back", "end_call",
    "board_ring", "board_ring_accepted", "board_ring_unanswered",
})
# the board rings before anyone accepts: those events name no supervisor
_UNATTRIBUTED_ACTIONS = frozenset({"board_ring", "board_ring_unanswered"})


class InvalidEventError(ValueError):
    """An event refused before it reached storage; `reason` is a fixed code safe to log."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _check_value(value: Any, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise InvalidEventError("payload_too_deep")
    if value is None or isinstance(value, bool | int):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidEventError("payload_non_finite_number")
        return
    if isinstance(value, str):
        # Postgres text and jsonb cannot hold NUL; one such event would fail its whole batch
        if "\x00" in value:
            raise InvalidEventError("payload_nul_character")
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise InvalidEventError("payload_key_not_string")
            if "\x00" in key:
                raise InvalidEventError("payload_nul_character")
            _check_value(item, depth + 1)
        return
    if isinstance(value, list | tuple):
        for item in value:
            _check_value(item, depth + 1)
        return
    raise InvalidEventError("payload_not_json")


def validate_event(kind: Any, payload: Any) -> None:
    """Raise InvalidEventError unless (kind, payload) can be stored as given."""
    if not isinstance(kind, str) or not KIND_PATTERN.match(kind):
        raise InvalidEventError("bad_kind")
    if not isinstance(payload, Mapping):
        raise InvalidEventError("payload_not_mapping")
    _check_value(payload, 0)
    if kind == "turn":
        if payload.get("role") not in TURN_ROLES:
            raise InvalidEventError("turn_bad_role")
        if not isinstance(payload.get("text"), str):
            raise InvalidEventError("turn_text_not_string")
    elif kind == "supervision":
        _check_supervision(payload)


def _check_supervision(payload: Mapping[str, Any]) -> None:
    action = payload.get("action")
    if action not in SUPERVISION_ACTIONS:
        raise InvalidEventError("supervision_bad_action")
    by = payload.get("by")
    if action not in _UNATTRIBUTED_ACTIONS and (not isinstance(by, str) or not by.strip()):
        raise InvalidEventError("supervision_without_account")
    if action == "whisper" and not (isinstance(payload.get("text"), str)
                                    and payload["text"].strip()):
        raise InvalidEventError("supervision_whisper_without_text")


def _encode_at(at: datetime) -> str:
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(UTC).isoformat()


@dataclass(frozen=True)
class StreamEntry:
    """One decoded stream entry."""

    seq: int
    event: CallEvent


class CallEventSerializer:
    """The exact field map of a `call:<id>:events` stream entry.

    Fields: `v` (wire version), `seq` (decimal), `kind`, `at` (ISO-8601 UTC), `payload` (JSON
    object). Everything is a string because Redis stream fields are bytes.
    """

    def __init__(self, max_bytes: int = MAX_EVENT_BYTES) -> None:
        self.max_bytes = max_bytes

    def encode_payload(self, kind: str, payload: Mapping[str, Any]) -> str:
        """Validate and encode; the result is what `encode` stores under `payload`."""
        validate_event(kind, payload)
        text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        if len(text.encode()) > self.max_bytes:
            raise InvalidEventError("event_too_large")
        return text

    def encode(self, seq: int, event: CallEvent) -> dict[str, str]:
        return {
            "v": WIRE_VERSION,
            "seq": str(seq),
            "kind": event.kind,
            "at": _encode_at(event.at),
            "payload": self.encode_payload(event.kind, event.payload),
        }

    def fields_without_seq(self, event: CallEvent) -> dict[str, str]:
        """The fields the recorder sends; Redis assigns `seq` atomically when it appends."""
        fields = self.encode(0, event)
        del fields["seq"]
        return fields

    def decode(self, fields: Mapping[Any, Any]) -> StreamEntry:
        """Decode one entry; raise InvalidEventError naming what is wrong with it."""
        text: dict[str, str] = {}
        try:
            for key, value in fields.items():
                k = key.decode() if isinstance(key, bytes) else key
                text[k] = value.decode() if isinstance(value, bytes) else value
        except UnicodeDecodeError:
            raise InvalidEventError("entry_not_utf8") from None
        if text.get("v") != WIRE_VERSION:
            raise InvalidEventError("entry_unknown_version")
        raw_payload = text.get("payload")
        if raw_payload is None:
            raise InvalidEventError("entry_missing_payload")
        if len(raw_payload.encode()) > self.max_bytes:
            raise InvalidEventError("event_too_large")
        try:
            seq = int(text.get("seq", ""))
        except ValueError:
            raise InvalidEventError("entry_bad_seq") from None
        if seq <= 0:
            raise InvalidEventError("entry_bad_seq")
        try:
            at = datetime.fromisoformat(text.get("at", ""))
        except ValueError:
            raise InvalidEventError("entry_bad_timestamp") from None
        if at.tzinfo is None:
            raise InvalidEventError("entry_bad_timestamp")
        try:
            payload = json.loads(raw_payload)
        except ValueError:
            raise InvalidEventError("entry_payload_not_json") from None
        kind = text.get("kind", "")
        validate_event(kind, payload)
        return StreamEntry(seq=seq, event=CallEvent(kind=kind, payload=payload, at=at))


def normalize_outcome(outcome: Mapping[str, Any]) -> dict[str, Any]:
    """The draft outcome in its stored shape: fields, missing_fields, unconfirmed_fields,
    escalation_reason, recommended_next_action, bookings. Raise InvalidEventError if a part
    has the wrong type."""
    fields = outcome.get("fields", {})
    if not isinstance(fields, Mapping):
        raise InvalidEventError("outcome_fields_not_mapping")
    missing = outcome.get("missing_fields", [])
    if not isinstance(missing, list | tuple) or not all(isinstance(m, str) for m in missing):
        raise InvalidEventError("outcome_missing_fields_not_list")
    unconfirmed = outcome.get("unconfirmed_fields", [])
    if not isinstance(unconfirmed, list | tuple) or not all(
            isinstance(m, str) for m in unconfirmed):
        raise InvalidEventError("outcome_unconfirmed_fields_not_list")
    result: dict[str, Any] = {"fields": dict(fields), "missing_fields": list(missing),
                              "unconfirmed_fields": list(unconfirmed)}
    for name in ("escalation_reason", "recommended_next_action"):
        value = outcome.get(name)
        if value is not None and not isinstance(value, str):
            raise InvalidEventError(f"outcome_{name}_not_string")
        result[name] = value
    result["bookings"] = [_booking(b) for b in outcome.get("bookings") or []]
    return result


def _booking(booking: Any) -> dict[str, Any]:
    """A confirmed booking as the checklist records it: kind, reference, when, at."""
    if not isinstance(booking, Mapping):
        raise InvalidEventError("outcome_booking_not_mapping")
    kind, reference = booking.get("kind"), booking.get("reference")
    if kind not in ("appointment", "callback"):
        raise InvalidEventError("outcome_booking_bad_kind")
    if not isinstance(reference, str) or not reference:
        raise InvalidEventError("outcome_booking_bad_reference")
    when = booking.get("when")
    if when is not None and not isinstance(when, str):
        raise InvalidEventError("outcome_booking_bad_when")
    try:
        at = datetime.fromisoformat(str(booking.get("at", "")))
    except ValueError:
        raise InvalidEventError("outcome_booking_bad_timestamp") from None
    if at.tzinfo is None:
        raise InvalidEventError("outcome_booking_bad_timestamp")
    return {"kind": kind, "reference": reference, "when": when, "at": at.isoformat()}
