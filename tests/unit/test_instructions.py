"""Instructions and checklist status generated from the playbook."""

from __future__ import annotations

import asyncio

import pytest

from agent.instructions import build_instructions, checklist_status_message, opening_line
from agent.intake_agent import IntakeAgent
from tests.unit.test_tools_fakes import example_playbook
from tools.checklist import SlotChecklist
from tools.normalize import Normalized

pytestmark = pytest.mark.unit

PLAYBOOK = example_playbook()


def test_objective_comes_before_persona_and_text_is_short() -> None:
    text = build_instructions(PLAYBOOK, None)
    assert text.index("# Objective") < text.index("# Fields") < text.index("# Persona")
    assert text.index(PLAYBOOK.objective) < text.index(PLAYBOOK.persona)
    assert len(text) < 2500


def test_fields_rules_and_must_never_are_all_there() -> None:
    text = build_instructions(PLAYBOOK, None)
    for name in PLAYBOOK.fields:
        assert f"- {name} (" in text
    assert "- phone (required, read back)" in text
    assert "one of phone/sms/email" in text
    for item in PLAYBOOK.must_never:
        assert item in text
    assert "Quote prices" in text and "booking tool returned that it is confirmed" in text


async def test_restored_snapshot_marks_known_fields() -> None:
    checklist = SlotChecklist(PLAYBOOK)
    await checklist.record("name", "Dana", Normalized("Dana", "Dana"), turn=1)
    text = build_instructions(PLAYBOOK, checklist.snapshot())
    assert "- name (required) [have it]" in text
    assert build_instructions(PLAYBOOK, checklist) == text


def test_opening_line_discloses_ai_and_recording() -> None:
    line = opening_line(PLAYBOOK)
    assert line.startswith(PLAYBOOK.greeting)
    assert PLAYBOOK.ai_disclosure in line
    assert PLAYBOOK.recording_consent.text is not None
    assert line.endswith(PLAYBOOK.recording_consent.text)


async def test_status_message_follows_the_checklist() -> None:
    checklist = SlotChecklist(PLAYBOOK)
    status = checklist_status_message(checklist)
    assert "have: nothing yet" in status
    assert "still missing: problem, location, deadline, followup_channel, name, phone" in status
    await checklist.record("phone", "x", Normalized("+15125550100", "x"), turn=1)
    status = checklist_status_message(checklist)
    assert "read back and confirm: phone" in status
    for name, value in [("problem", "leak"), ("location", "Austin"), ("deadline", "2025-03-07"),
                        ("followup_channel", "sms"), ("name", "Dana")]:
        await checklist.record(name, value, Normalized(value, value), turn=2)
    await checklist.confirm("phone", turn=3)
    await checklist.confirm("deadline", turn=3)
    checklist.record_escalation("pricing", source="guard", detail="quote", turn=3)
    status = checklist_status_message(checklist)
    assert "still missing" not in status
    assert "all required details are in" in status
    assert "escalated: pricing" in status


def test_the_checklist_refresh_sends_instructions_only_when_they_changed() -> None:
    """Each caller turn refreshes the model's checklist; an unchanged one is not re-sent
    (livekit-agents would send the whole text again and keep another copy in the chat)."""
    playbook = example_playbook()
    checklist = SlotChecklist(playbook)
    agent = IntakeAgent(playbook=playbook, checklist=checklist, greeting_text=None,
                        greeting_frames=[])
    sent: list[str] = []

    async def update_instructions(text: str) -> None:
        sent.append(text)
        agent._instructions = text

    agent.update_instructions = update_instructions  # type: ignore[method-assign]

    async def turns() -> None:
        await agent.refresh_checklist()  # the checklist's status joins the instructions
        await agent.refresh_checklist()  # a turn that changed nothing
        first = next(iter(playbook.fields))
        await checklist.record(first, "a leak", Normalized("a leak", "a leak"), turn=1)
        await agent.refresh_checklist()
        await agent.add_supervisor_note("Ask about pets.")

    asyncio.run(turns())
    assert len(sent) == 3
    assert "a leak" not in sent[0] and sent[1] != sent[0] and "Ask about pets." in sent[2]
