"""Rows of the system of record as the writer, review and Protocols see them, and its errors."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class CallRow:
    call_id: str
    room: str = ""
    worker_id: str | None = None
    status: str = "active"
    caller_number: str | None = None
    playbook: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    retention_days: int | None = None
    recording_uri: str | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None


@dataclass(frozen=True)
class TurnRow:
    seq: int
    role: str
    text: str
    at: datetime
    interrupted: bool = False


@dataclass(frozen=True)
class EventRow:
    seq: int
    kind: str
    payload: Mapping[str, Any]
    at: datetime


@dataclass(frozen=True)
class OutcomeDraft:
    fields: Mapping[str, Any]
    missing_fields: Sequence[str]
    escalation_reason: str | None
    recommended_next_action: str | None
    source_seq: int | None = None
    unconfirmed_fields: Sequence[str] = ()
    # confirmed bookings as normalize_outcome checks them: kind, reference, when, at
    bookings: Sequence[Mapping[str, Any]] = ()


@dataclass
class CallBatch:
    """What one transaction writes for one call."""

    call: CallRow | None
    call_id: str
    turns: list[TurnRow] = field(default_factory=list)
    events: list[EventRow] = field(default_factory=list)
    outcome: OutcomeDraft | None = None

    def __len__(self) -> int:
        return len(self.turns) + len(self.events) + (1 if self.outcome else 0)


@dataclass(frozen=True)
class RetentionCounts:
    calls: int
    turns: int
    events: int
    audio_refs: int


class OutcomeNotFoundError(LookupError):
    """The call has no outcome yet."""


class OutcomeConflictError(RuntimeError):
    """The outcome changed since the editor read it (its version moved on)."""

    def __init__(self, current_version: int) -> None:
        super().__init__("outcome changed since it was read")
        self.current_version = current_version
