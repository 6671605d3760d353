"""The writer keeps what the console shows: a turn's interrupted flag, and the outcome's
unconfirmed fields and bookings (which become rows of their own)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from state.events import CallEventSerializer
from state.protocols import TURN, CallEvent
from state.redis_live import RawEntry
from state.writer import RecordWriter

pytestmark = pytest.mark.unit

AT = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


def _entry(seq: int, kind: str, payload: dict[str, Any]) -> RawEntry:
    return RawEntry(f"{seq}-0", CallEventSerializer().encode(seq, CallEvent(kind, payload, AT)))


async def test_interrupted_turns_unconfirmed_fields_and_bookings_reach_the_batch() -> None:
    writer = RecordWriter(live=None, store=None)  # type: ignore[arg-type]
    booking = {"kind": "appointment", "reference": "AP-12", "when": "2026-03-06",
               "at": AT.isoformat()}
    batch, last_seq = await writer._build_batch("c1", {}, [
        _entry(1, TURN, {"role": "agent", "text": "Hello", "interrupted": True}),
        _entry(2, TURN, {"role": "caller", "text": "Hi"}),
        _entry(3, "outcome", {"fields": {"phone": "+15125550142"}, "missing_fields": [],
                              "unconfirmed_fields": ["phone"], "escalation_reason": None,
                              "recommended_next_action": "human_review",
                              "bookings": [booking]}),
    ])
    assert last_seq == 3
    assert [t.interrupted for t in batch.turns] == [True, False]
    assert batch.outcome is not None
    assert list(batch.outcome.unconfirmed_fields) == ["phone"]
    assert list(batch.outcome.bookings) == [booking]
