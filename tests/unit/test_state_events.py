"""Event validation, the stream wire format, the in-memory recorder, review edits, config."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime

import pytest

from state.cli import _parse_changes, register
from state.config import ConfigError, database_url, default_retention_days, redis_url
from state.events import (
    MAX_EVENT_BYTES,
    CallEventSerializer,
    InvalidEventError,
    normalize_outcome,
    validate_event,
)
from state.protocols import STATUS, TOOL_CALL, TURN, CallEvent, CallInfo
from state.recorder import InMemoryCallRecorder, RecorderNotOpenError
from state.review import ReviewError, apply_edit
from state.writer import call_row_from_hash

pytestmark = pytest.mark.unit

AT = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)


@pytest.mark.parametrize(("kind", "payload", "reason"), [
    ("Turn", {"role": "caller", "text": "x"}, "bad_kind"),
    ("", {}, "bad_kind"),
    (3, {}, "bad_kind"),
    ("note", ["not", "a", "mapping"], "payload_not_mapping"),
    ("note", {"x": float("nan")}, "payload_non_finite_number"),
    ("note", {"x": "a\x00b"}, "payload_nul_character"),
    ("note", {1: "x"}, "payload_key_not_string"),
    ("note", {"x": object()}, "payload_not_json"),
    ("note", {"x": {"y": {"z": {"a": {"b": {"c": {"d": {"e": {"f": 1}}}}}}}}},
     "payload_too_deep"),
    (TURN, {"role": "robot", "text": "x"}, "turn_bad_role"),
    (TURN, {"role": "caller"}, "turn_text_not_string"),
])
def test_malformed_events_are_rejected_with_a_reason(kind: object, payload: object,
                                                     reason: str) -> None:
    with pytest.raises(InvalidEventError) as caught:
        validate_event(kind, payload)
    assert caught.value.reason == reason


def test_oversized_event_is_rejected() -> None:
    serializer = CallEventSerializer()
    with pytest.raises(InvalidEventError, match="event_too_large"):
        serializer.encode_payload(TURN, {"role": "caller", "text": "x" * MAX_EVENT_BYTES})


def test_serializer_writes_exact_fields() -> None:
    event = CallEvent(kind=TURN, payload={"role": "caller", "text": "Café at 5 ½"}, at=AT)
    fields = CallEventSerializer().encode(7, event)
    assert fields == {
        "v": "1", "seq": "7", "kind": "turn", "at": "2026-01-02T03:04:05.678000+00:00",
        "payload": '{"role":"caller","text":"Café at 5 ½"}',
    }


def test_serializer_round_trips_bytes_from_redis() -> None:
    serializer = CallEventSerializer()
    event = CallEvent(kind=TOOL_CALL, payload={"name": "record_field", "args": {"n": [1, 2.5]}},
                      at=AT)
    raw = {k.encode(): v.encode() for k, v in serializer.encode(42, event).items()}
    decoded = serializer.decode(raw)
    assert decoded.seq == 42
    assert decoded.event == event


def test_naive_timestamps_are_stored_as_utc() -> None:
    event = CallEvent(kind=STATUS, payload={}, at=datetime(2026, 1, 1, 12, 0))
    assert CallEventSerializer().encode(1, event)["at"] == "2026-01-01T12:00:00+00:00"


@pytest.mark.parametrize(("change", "reason"), [
    ({"v": "2"}, "entry_unknown_version"),
    ({"seq": "x"}, "entry_bad_seq"),
    ({"seq": "0"}, "entry_bad_seq"),
    ({"at": "yesterday"}, "entry_bad_timestamp"),
    ({"at": "2026-01-01T00:00:00"}, "entry_bad_timestamp"),
    ({"payload": "{oops"}, "entry_payload_not_json"),
    ({"payload": '{"role":"caller","text":"x","n":NaN}'}, "payload_non_finite_number"),
    ({"kind": "BAD"}, "bad_kind"),
])
def test_corrupt_entries_are_named(change: dict[str, str], reason: str) -> None:
    serializer = CallEventSerializer()
    fields = serializer.encode(1, CallEvent(kind=TURN, payload={"role": "caller", "text": "x"},
                                            at=AT))
    fields.update(change)
    with pytest.raises(InvalidEventError) as caught:
        serializer.decode(fields)
    assert caught.value.reason == reason


def test_undecodable_and_incomplete_entries_are_named() -> None:
    serializer = CallEventSerializer()
    with pytest.raises(InvalidEventError, match="entry_not_utf8"):
        serializer.decode({b"v": b"\xff"})
    with pytest.raises(InvalidEventError, match="entry_missing_payload"):
        serializer.decode({"v": "1", "seq": "1"})


def test_outcome_is_normalized_and_checked() -> None:
    assert normalize_outcome({"fields": {"name": "Ada"}}) == {
        "fields": {"name": "Ada"}, "missing_fields": [], "unconfirmed_fields": [],
        "escalation_reason": None, "recommended_next_action": None, "bookings": []}
    booking = {"kind": "callback", "reference": "CB-1", "when": "any",
               "at": "2026-03-02T15:00:00+00:00"}
    assert normalize_outcome({"bookings": [booking]})["bookings"] == [booking]
    with pytest.raises(InvalidEventError, match="outcome_booking_bad_kind"):
        normalize_outcome({"bookings": [{**booking, "kind": "visit"}]})
    with pytest.raises(InvalidEventError, match="outcome_booking_bad_timestamp"):
        normalize_outcome({"bookings": [{**booking, "at": "yesterday"}]})
    with pytest.raises(InvalidEventError):
        normalize_outcome({"fields": ["x"]})
    with pytest.raises(InvalidEventError):
        normalize_outcome({"missing_fields": [1]})
    with pytest.raises(InvalidEventError):
        normalize_outcome({"escalation_reason": 3})


async def test_in_memory_recorder_keeps_the_contract() -> None:
    recorder = InMemoryCallRecorder()
    with pytest.raises(RecorderNotOpenError):
        await recorder.record(TURN, {"role": "caller", "text": "hi"})
    await recorder.open(CallInfo(call_id="c1", room="call-c1", worker_id="w"))
    payload = {"role": "caller", "text": "hi"}
    seq = await recorder.record(TURN, payload)
    payload["text"] = "changed later"
    assert seq == 2  # after the "opened" status event
    with pytest.raises(InvalidEventError):
        await recorder.record(TURN, {"role": "caller", "text": "x" * MAX_EVENT_BYTES})
    await recorder.save_slot("name", {"value": "Ada", "confirmed": True})
    slots = await recorder.load_slots()
    slots["name"]["value"] = "mutated copy"
    assert (await recorder.load_slots())["name"]["value"] == "Ada"
    await recorder.set_status("escalating", supervisor="sup")
    recent = await recorder.recent_events(2)
    assert [e.kind for _, e in recent] == [TURN, STATUS]
    assert recent[0][1].payload["text"] == "hi"
    await recorder.finish({"fields": {"name": "Ada"}, "missing_fields": ["budget"]})
    assert recorder.outcome is not None and recorder.outcome["missing_fields"] == ["budget"]
    assert recorder.fields["status"] == "ended"
    await recorder.aclose()
    assert recorder.closed


def _snapshot() -> dict[str, object]:
    return {"fields": {"name": "Ada", "budget": "low"}, "missing_fields": ["deadline"],
            "escalation_reason": None, "recommended_next_action": None,
            "approval_status": "approved", "approved_by": "omar",
            "approved_at": "2026-01-01T00:00:00+00:00"}


def test_edit_sets_clears_and_reopens_approval() -> None:
    after = apply_edit(_snapshot(), {"deadline": "friday", "budget": None,
                                     "recommended_next_action": "send quote"})
    assert after["fields"] == {"name": "Ada", "deadline": "friday"}
    assert after["missing_fields"] == ["budget"]
    assert after["recommended_next_action"] == "send quote"
    assert (after["approval_status"], after["approved_by"]) == ("draft", None)
    assert apply_edit(_snapshot(), {"name": "Ada"}) == _snapshot()  # no change, still approved
    with pytest.raises(ReviewError):
        apply_edit(_snapshot(), {"escalation_reason": 5})


def test_cli_set_values_are_parsed() -> None:
    assert _parse_changes(["name=Ada Lovelace", "budget=", "note=a=b"]) == {
        "name": "Ada Lovelace", "budget": None, "note": "a=b"}
    with pytest.raises(ValueError):
        _parse_changes(["novalue"])


def test_cli_registers_its_commands() -> None:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["calls", "edit", "abc", "--set", "x=1", "--by", "olivia"])
    assert (args.call_id, args.changes, args.by) == ("abc", ["x=1"], "olivia")
    assert parser.parse_args(["retention", "purge", "--days", "7"]).apply is False
    assert callable(parser.parse_args(["migrate"]).func)


def test_config_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INTAKE_DATABASE_URL", raising=False)
    with pytest.raises(ConfigError, match="INTAKE_DATABASE_URL"):
        database_url()
    monkeypatch.setenv("INTAKE_REDIS_URL", "http://nope")
    with pytest.raises(ConfigError, match="INTAKE_REDIS_URL"):
        redis_url()
    monkeypatch.setenv("INTAKE_RETENTION_DAYS", "ten")
    with pytest.raises(ConfigError, match="INTAKE_RETENTION_DAYS"):
        default_retention_days()
    monkeypatch.delenv("INTAKE_RETENTION_DAYS")
    assert default_retention_days() == 30


def test_call_row_comes_from_the_live_hash() -> None:
    row = call_row_from_hash("c1", {
        "room": "call-c1", "worker": "w1", "status": "ended", "metadata": json.dumps({"a": 1}),
        "retention_days": "14", "started_at": AT.isoformat(), "ended_at": "garbage"})
    assert row is not None
    assert (row.room, row.worker_id, row.status, row.retention_days) == ("call-c1", "w1",
                                                                         "ended", 14)
    assert row.metadata == {"a": 1} and row.started_at == AT and row.ended_at is None
    assert call_row_from_hash("c1", {}) is None
