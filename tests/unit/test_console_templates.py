"""The call page renders every kind of event the worker writes, whatever keys it carries, and
escapes what callers said (templates render here without a server)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from dashboard.auth import CurrentUser
from dashboard.config import DEFAULT_PLAYBOOK
from dashboard.permissions import Permission
from dashboard.review_core import CallPage, field_rows, revision_rows, timeline
from dashboard.services import console_templates
from dashboard.views.recording_audio import player_for
from tools.playbook import load_playbook

pytestmark = pytest.mark.unit

AT = "2026-03-02T15:00:00+00:00"


def _record(events: list[dict[str, Any]], outcome: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "call": {"call_id": "c" * 32, "room": "r", "status": "ended",
                 "caller_number": "+15125550142", "playbook": None, "metadata": {},
                 "started_at": AT, "ended_at": AT, "purged_at": None},
        "turns": [{"seq": 1, "role": "caller", "text": "<img src=x onerror=alert(1)>",
                   "at": AT, "interrupted": False},
                  {"seq": 2, "role": "agent", "text": "Sorry, go on", "at": AT,
                   "interrupted": True}],
        "events": [{"seq": 10 + i, "at": AT, **e} for i, e in enumerate(events)],
        "outcome": outcome, "revisions": [],
        "bookings": [{"reference": "CB-3", "kind": "callback", "when": None, "at": AT}],
    }


def _render(record: dict[str, Any]) -> str:
    playbook = load_playbook(DEFAULT_PLAYBOOK)
    page = CallPage(record, playbook, timeline(record), field_rows(playbook, record),
                    revision_rows(record))
    user = CurrentUser(1, "olive", "operator", "tok")
    return console_templates().get_template("call.html").render(
        request=SimpleNamespace(query_params={}), page=page, call=record["call"],
        outcome=page.outcome, notice=None, page_title="Call", user=user, csrf_token="tok",
        zone=ZoneInfo("America/Chicago"), can={p.value: True for p in Permission},
        player=player_for(record), alert=None, eval_case=None)


def test_every_event_shape_renders() -> None:
    html = _render(_record([
        {"kind": "escalation", "payload": {"category": "pricing"}},
        {"kind": "escalation", "payload": {"category": "human_request", "stage": "transfer",
                                           "transferred": False}},
        {"kind": "escalation", "payload": {"category": "urgent", "source": "guard",
                                           "detail": "<b>flood</b>", "turn": 1}},
        {"kind": "tool_call", "payload": {"name": "record_field"}},
        {"kind": "status", "payload": {"status": "callback_booked", "reason": "transfer"}},
        {"kind": "takeover", "payload": {}},
        {"kind": "slot_changed", "payload": {"field": "phone"}},
    ], None))
    assert "Human request</strong> · Transfer · not transferred" in html
    assert "&lt;b&gt;flood&lt;/b&gt;" in html and "<b>flood" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "Callback booked (Transfer)" in html and "CB-3" in html
    assert 'class="turn agent interrupted"' in html
    assert "No outcome yet" in html


def test_the_missing_fields_panel_lists_required_unconfirmed_and_optional() -> None:
    html = _render(_record([], {
        "fields": {"phone": "+15125550142", "problem": "leak"}, "missing_fields": [],
        "unconfirmed_fields": ["phone"], "escalation_reason": None,
        "recommended_next_action": "human_review", "approval_status": "draft",
        "approved_by": None, "approved_at": None, "version": 3, "revision": 0}))
    assert "<strong>Location</strong> — required, not collected" in html
    assert "<strong>Phone</strong> — collected but not confirmed by the caller" in html
    assert "Optional, not collected: Budget, Decision maker" in html
    assert 'name="version" value="3"' in html


def test_a_recorded_call_gets_the_player_and_its_turns_their_times() -> None:
    started = {"kind": "recording", "payload": {"stage": "started", "part": 1,
               "uri": "file:///r/c/part-001.ogg", "started_at": "2026-03-02T14:59:50+00:00"}}
    html = _render(_record([started], None))
    assert f'src="/calls/{"c" * 32}/recording/1"' in html and 'data-parts="1"' in html
    assert "file:///" not in html  # the store's URI stays on the server
    assert 'data-part="1" data-start="0.0" data-end="10.0"' in html
    assert 'data-part="1" data-start="10.0" data-end="10.0"' in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "No recording for this call." in _render(_record([], None))
