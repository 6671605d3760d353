"""The watcher's outcome for a dead call uses the call's own playbook, or the worker's when
that one no longer loads; a saved checklist comes back with its slots and extras."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.config import DEFAULT_PLAYBOOK
from agent.orphan_outcome import call_playbook
from tools.checklist import EXTRAS_SLOT, SlotChecklist
from tools.playbook import load_playbook

pytestmark = pytest.mark.unit


def test_a_broken_call_playbook_falls_back_to_the_workers(tmp_path: Path) -> None:
    broken = tmp_path / "gone.yaml"
    broken.write_text("fields: [", encoding="utf-8")
    fallback = Path(DEFAULT_PLAYBOOK)
    assert call_playbook(str(broken), fallback).business_name == \
        load_playbook(fallback).business_name
    assert call_playbook(str(tmp_path / "missing.yaml"), fallback).business_name == \
        load_playbook(fallback).business_name


def test_saved_slots_restore_fields_and_escalations() -> None:
    playbook = load_playbook(DEFAULT_PLAYBOOK)
    field = playbook.required_fields()[0]
    saved = {
        field: {"name": field, "value": "something", "confirmed": True},
        EXTRAS_SLOT: {"escalations": [{"category": "urgent", "source": "guard", "detail": "",
                                       "turn": 1, "at": "2026-12-01T10:00:00+00:00"}]},
    }
    outcome = SlotChecklist.from_saved_slots(playbook, saved).outcome()
    assert outcome["fields"] == {field: "something"}
    assert outcome["escalation_reason"] == "urgent"
    assert field not in outcome["missing_fields"]
