"""The slot checklist: values, confirmation, derived facts by rule, persistence hooks."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from tests.unit.test_tools_fakes import FakeRecorder, example_playbook
from tools.checklist import SlotChange, SlotChecklist, recorder_hook
from tools.normalize import Normalized

pytestmark = pytest.mark.unit

NOW = datetime(2025, 3, 5, 4, 30, tzinfo=UTC)
PLAYBOOK = example_playbook()
VALUES = {"problem": "leak", "location": "Austin", "deadline": "2025-03-07",
          "followup_channel": "phone", "name": "Dana", "phone": "+15125550100"}


def make(**kwargs: object) -> SlotChecklist:
    return SlotChecklist(PLAYBOOK, clock=lambda: NOW, **kwargs)  # type: ignore[arg-type]


async def fill(checklist: SlotChecklist, confirm: bool = True, **overrides: str) -> None:
    for turn, (name, value) in enumerate({**VALUES, **overrides}.items(), 1):
        await checklist.record(name, value, Normalized(value, value), turn=turn)
        if confirm and checklist.needs_confirmation(name):
            await checklist.confirm(name, turn=turn)


async def test_fresh_checklist_misses_every_required_field() -> None:
    checklist = make()
    assert checklist.missing() == ["problem", "location", "deadline", "followup_channel",
                                   "name", "phone"]
    assert checklist.missing_optional() == ["budget", "decision_maker"]
    assert checklist.completeness() == 0.0
    assert not checklist.is_complete()
    assert checklist.next_action() == "human_review"


async def test_slot_keeps_raw_normalized_turn_and_time() -> None:
    checklist = make()
    await checklist.record("phone", "512 555 0100", Normalized("+15125550100", "five ..."),
                           turn=4)
    slot = checklist.slot("phone")
    assert (slot.raw, slot.value, slot.source_turn, slot.updated_at, slot.confirmed) == (
        "512 555 0100", "+15125550100", 4, NOW, False)


async def test_confirmable_fields_count_only_once_confirmed() -> None:
    checklist = make()
    await fill(checklist, confirm=False)
    assert checklist.missing() == []
    assert checklist.unconfirmed() == ["deadline", "phone"]
    assert checklist.completeness() == pytest.approx(4 / 6)
    assert checklist.next_action() == "human_review"
    await checklist.confirm("deadline", turn=9)
    await checklist.confirm("phone", turn=9)
    assert checklist.is_complete() and checklist.completeness() == 1.0


async def test_changing_a_confirmed_value_needs_a_new_yes() -> None:
    checklist = make()
    await fill(checklist)
    change = await checklist.record("phone", "x", Normalized("+15125550199", "x"), turn=10)
    assert change.kind == "corrected" and change.previous_value == "+15125550100"
    assert not checklist.slot("phone").confirmed
    same = await checklist.record("deadline", "y", Normalized("2025-03-07", "y"), turn=11)
    assert checklist.slot("deadline").confirmed and same.kind == "recorded"


async def test_correcting_an_unconfirmed_value_is_a_correction() -> None:
    checklist = make()
    await checklist.record("phone", "a", Normalized("+15125550100", "a"), turn=1)
    change = await checklist.record("phone", "b", Normalized("+15125550199", "b"), turn=2)
    assert change.kind == "corrected"


async def test_reject_voids_the_value() -> None:
    checklist = make()
    await checklist.record("deadline", "tomorrow", Normalized("2025-03-05", "x"), turn=1)
    change = await checklist.reject("deadline", turn=2)
    assert change.kind == "rejected" and change.previous_value == "2025-03-05"
    assert "deadline" in checklist.missing()
    with pytest.raises(ValueError):
        await checklist.confirm("deadline", turn=3)


@pytest.mark.parametrize(("channel", "booked", "escalated", "action"), [
    ("phone", False, False, "schedule_call"),
    ("sms", False, False, "send_followup"),
    ("email", False, False, "send_followup"),
    ("phone", True, False, "send_followup"),
    ("sms", True, True, "human_review"),
])
async def test_next_action_rule(channel: str, booked: bool, escalated: bool,
                                action: str) -> None:
    checklist = make()
    await fill(checklist, followup_channel=channel)
    if booked:
        checklist.record_booking("appointment", "REF-1", "2025-03-07")
    if escalated:
        checklist.record_escalation("pricing", source="guard", detail="how much", turn=3)
    assert checklist.next_action() == action


async def test_missing_required_field_means_human_review_even_when_booked() -> None:
    checklist = make()
    await fill(checklist)
    await checklist.reject("name", turn=12)
    checklist.record_booking("callback", "REF-2", "any")
    assert checklist.next_action() == "human_review"


async def test_snapshot_round_trips_through_json() -> None:
    checklist = make()
    await fill(checklist, confirm=False)
    await checklist.confirm("phone", turn=7)
    checklist.record_escalation("legal", source="tool", detail="lawyer", turn=5)
    checklist.record_booking("callback", "REF-3", "morning")
    data = json.loads(json.dumps(checklist.snapshot()))
    restored = SlotChecklist.from_snapshot(PLAYBOOK, data, clock=lambda: NOW)
    assert restored.snapshot() == checklist.snapshot()
    assert restored.slots == checklist.slots
    assert restored.outcome() == checklist.outcome()


async def test_snapshot_drops_fields_the_playbook_no_longer_has() -> None:
    data = make().snapshot()
    data["slots"]["shoe_size"] = {"name": "shoe_size", "value": "9"}
    assert "shoe_size" not in SlotChecklist.from_snapshot(PLAYBOOK, data)


async def test_outcome_for_the_record() -> None:
    checklist = make()
    await fill(checklist, followup_channel="email")
    outcome = checklist.outcome()
    assert outcome["missing_fields"] == [] and outcome["completeness"] == 1.0
    assert outcome["fields"]["phone"] == "+15125550100"
    assert outcome["recommended_next_action"] == "send_followup"
    assert outcome["escalation_reason"] is None


async def test_on_change_hook_sees_every_change() -> None:
    changes: list[SlotChange] = []

    async def hook(change: SlotChange) -> None:
        changes.append(change)

    checklist = make(on_change=hook)
    await checklist.record("phone", "a", Normalized("+15125550100", "a"), turn=1)
    await checklist.confirm("phone", turn=2)
    await checklist.reject("phone", turn=3)
    assert [c.kind for c in changes] == ["recorded", "confirmed", "rejected"]


async def test_failing_hook_does_not_lose_the_value() -> None:
    async def hook(change: SlotChange) -> None:
        raise ConnectionError("redis down")

    checklist = make(on_change=hook)
    await checklist.record("name", "Dana", Normalized("Dana", "Dana"), turn=1)
    assert checklist.slot("name").value == "Dana"


async def test_recorder_hook_saves_slot_and_records_event() -> None:
    recorder = FakeRecorder()
    checklist = make(on_change=recorder_hook(recorder))
    await checklist.record("phone", "a", Normalized("+15125550100", "a"), turn=3)
    assert recorder.slots["phone"]["value"] == "+15125550100"
    assert recorder.slots["phone"]["updated_at"] == NOW.isoformat()
    assert [(event.kind, dict(event.payload)) for _, event in recorder.events] == [
        ("slot_changed", {
        "field": "phone", "change": "recorded", "value": "+15125550100", "confirmed": False,
        "source_turn": 3})]
