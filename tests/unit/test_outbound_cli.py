"""`intake call NUMBER`: refusals (exit 2), the dispatch it makes, the record it prints."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest
from livekit import api

from agent.cli import main
from agent.outbound import (
    is_outbound_call,
    outbound_opening_text,
    record_metadata,
    voicemail_text,
)
from agent.outbound_cli import CallNotPlacedError, dispatch_outbound_call, render_record
from devstack.services import DEV_API_SECRET
from tests.unit.test_tools_fakes import EXAMPLE_PLAYBOOK
from tools.playbook import WeeklyHours, load_playbook

pytestmark = pytest.mark.unit

NUMBER = "+15125550123"


@pytest.fixture(autouse=True)
def livekit_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INTAKE_PLAYBOOK", str(EXAMPLE_PLAYBOOK))
    monkeypatch.setenv("LIVEKIT_URL", "ws://127.0.0.1:9")
    monkeypatch.setenv("LIVEKIT_API_KEY", "devkey")
    monkeypatch.setenv("LIVEKIT_API_SECRET", DEV_API_SECRET)
    for name in ("TWILIO_PHONE_NUMBERS", "TWILIO_PHONE_NUMBER", "SIP_OUTBOUND_ADDRESS",
                 "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN"):
        monkeypatch.delenv(name, raising=False)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["call", *argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("raw", ["12345", "not a number", "+1 555 0143 001"])
def test_a_bad_number_exits_2_without_echoing_it(capsys: pytest.CaptureFixture[str],
                                                 raw: str) -> None:
    code, out, err = run(capsys, raw, "--no-wait")
    assert code == 2
    assert err.strip() == "intake: not a valid phone number (use E.164, e.g. +15125550100)"
    assert out == ""


def test_outside_calling_hours_exits_2_with_the_next_allowed_time(
        capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, NUMBER, "--check", "--now", "2025-03-04T03:00")
    assert code == 2
    assert err.strip() == ("intake: not calling: outside the playbook's calling hours; next "
                           "allowed time 2025-03-04T09:00-06:00 (America/Chicago)")
    assert NUMBER not in err and out == ""


def test_too_early_for_the_callee_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    # 10:00 in Chicago (the business) is 06:00 in Honolulu (the callee)
    code, _, err = run(capsys, "+18085550100", "--check", "--now", "2025-03-04T10:00-06:00")
    assert code == 2
    assert "outside 8:00-21:00 in the callee's local time" in err
    assert "2025-03-04T12:00-06:00" in err


def test_now_only_works_with_a_dry_run(capsys: pytest.CaptureFixture[str]) -> None:
    # no call can be placed by typing a moment inside the hours
    code, out, err = run(capsys, NUMBER, "--now", "2025-03-04T10:00", "--no-wait")
    assert code == 2 and out == ""
    assert err.strip() == ("intake: --now only works with --check (a dry run); a call is placed "
                           "only inside calling hours as of now")


def test_check_is_a_dry_run(capsys: pytest.CaptureFixture[str]) -> None:
    # LIVEKIT_URL points at a closed port: nothing is dispatched
    code, out, err = run(capsys, NUMBER, "--check", "--now", "2025-03-04T10:00")
    assert (code, out, err) == (0, "may call at 2025-03-04T10:00\n", "")


def test_a_real_call_is_checked_against_the_hours_of_now(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    playbook = load_playbook(EXAMPLE_PLAYBOOK)
    never = playbook.model_copy(update={"outbound": playbook.outbound.model_copy(
        update={"calling_hours": WeeklyHours()})})  # closed every day
    monkeypatch.setattr("tools.playbook.load_playbook", lambda path: never)
    code, out, err = run(capsys, NUMBER, "--no-wait")
    assert code == 2 and out == ""
    assert "not calling: outside the playbook's calling hours; no allowed time" in err


def test_a_bad_now_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, NUMBER, "--check", "--now", "tomorrow-ish")
    assert code == 2 and "--now must be an ISO 8601 time" in err


def test_missing_livekit_settings_exit_2(capsys: pytest.CaptureFixture[str],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LIVEKIT_URL")
    code, _, err = run(capsys, NUMBER, "--no-wait")
    assert code == 2 and "LIVEKIT_URL" in err


def test_waiting_needs_the_database(capsys: pytest.CaptureFixture[str],
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INTAKE_DATABASE_URL", raising=False)
    code, _, err = run(capsys, NUMBER)
    assert code == 2 and "INTAKE_DATABASE_URL is not set" in err and "--no-wait" in err


@dataclass
class FakeLiveKit:
    """The two LiveKit API calls `dispatch_outbound_call` makes, recorded."""

    rooms: list[api.CreateRoomRequest] = field(default_factory=list)
    dispatches: list[api.CreateAgentDispatchRequest] = field(default_factory=list)

    @property
    def room(self) -> FakeLiveKit:
        return self

    @property
    def agent_dispatch(self) -> FakeLiveKit:
        return self

    async def create_room(self, request: api.CreateRoomRequest) -> api.Room:
        self.rooms.append(request)
        return api.Room(name=request.name)

    # how many dispatches no worker takes before one is taken
    unclaimed: int = 0
    deleted: list[str] = field(default_factory=list)

    async def create_dispatch(self, request: api.CreateAgentDispatchRequest,
                              ) -> api.AgentDispatch:
        self.dispatches.append(request)
        return api.AgentDispatch(id=f"AD_{len(self.dispatches)}", agent_name=request.agent_name,
                                 room=request.room)

    async def list_dispatch(self, room_name: str) -> list[api.AgentDispatch]:
        latest = len(self.dispatches)
        jobs = [] if latest <= self.unclaimed else [api.Job(id=f"AJ_{latest}")]
        return [api.AgentDispatch(id=f"AD_{latest}", room=room_name,
                                  state=api.AgentDispatchState(jobs=jobs))]

    async def delete_dispatch(self, dispatch_id: str, room_name: str) -> api.AgentDispatch:
        self.deleted.append(dispatch_id)
        return api.AgentDispatch(id=dispatch_id, room=room_name)

    async def delete_room(self, request: api.DeleteRoomRequest) -> api.DeleteRoomResponse:
        self.deleted.append(request.room)
        return api.DeleteRoomResponse()


async def test_the_dispatch_names_the_room_without_the_number() -> None:
    lk = FakeLiveKit()
    placed = await dispatch_outbound_call(lk, agent_name="intake-agent",  # type: ignore[arg-type]
                                          number=NUMBER, ring_timeout_s=20)
    (room,) = lk.rooms
    (dispatch,) = lk.dispatches
    assert room.name == placed.room == f"outbound-{placed.call_id}"
    assert "5550123" not in placed.room
    assert (dispatch.agent_name, dispatch.room) == ("intake-agent", placed.room)
    metadata = json.loads(dispatch.metadata)
    assert metadata["call_direction"] == "outbound"
    assert metadata["call_id"] == placed.call_id
    assert metadata["dial_to"] == NUMBER
    assert metadata["ring_timeout_s"] == 20
    assert "dial_by" in metadata
    assert is_outbound_call(metadata)
    assert not is_outbound_call({**metadata, "resume": True})  # a replacement never re-dials
    assert "dial_to" not in record_metadata(metadata)


def test_the_opening_says_who_calls_that_it_is_an_ai_and_the_recording_notice() -> None:
    playbook = load_playbook(EXAMPLE_PLAYBOOK)
    text = outbound_opening_text(playbook)
    assert text.startswith("Hi, this is Brightline Home Services calling you back")
    assert "AI assistant" in text
    assert playbook.recording_consent.text is not None
    assert playbook.recording_consent.text in text
    assert text.endswith(next(iter(playbook.fields.values())).ask)


def test_an_opening_without_an_ai_mention_gets_the_disclosure() -> None:
    playbook = load_playbook(EXAMPLE_PLAYBOOK)
    playbook = playbook.model_copy(update={"outbound": playbook.outbound.model_copy(
        update={"opening": "Hi, Brightline Home Services here, returning your call."})})
    assert playbook.ai_disclosure in outbound_opening_text(playbook)


def test_the_default_voicemail_names_only_the_business_and_a_callback_number() -> None:
    playbook = load_playbook(EXAMPLE_PLAYBOOK)
    playbook = playbook.model_copy(update={"outbound": playbook.outbound.model_copy(
        update={"voicemail_message": None})})
    assert voicemail_text(playbook) == (
        "Hi, this is an automated message from Brightline Home Services, returning your call. "
        "Please call us back at five one two, five five five, zero one zero zero. "
        "Thank you, goodbye.")


def record(events: list[dict[str, Any]], outcome: dict[str, Any]) -> dict[str, Any]:
    return {"call": {"call_id": "abc123"}, "events": [
        {"kind": "status", "payload": payload} for payload in events], "outcome": outcome}


def test_the_printed_record_says_how_the_call_went() -> None:
    voicemail = record([{"status": "dialing"}, {"status": "answered", "answered_by": "machine"},
                        {"status": "voicemail_left"}],
                       {"fields": {}, "missing_fields": ["problem", "name"],
                        "recommended_next_action": "Voicemail left; call again later."})
    assert render_record(voicemail) == ("call abc123: voicemail left\n"
                                        "  missing: problem, name\n"
                                        "  next: Voicemail left; call again later.")
    no_answer = record([{"status": "dialing"},
                        {"status": "dial_failed", "reason": "no_answer"}], {})
    assert render_record(no_answer) == "call abc123: dial failed: no_answer"
    talked = record([{"status": "answered", "answered_by": "person"}],
                    {"fields": {"problem": "leak"}, "missing_fields": []})
    assert render_record(talked) == ("call abc123: answered by a person\n"
                                     "  collected: problem=leak")


async def test_a_dispatch_no_worker_took_is_replaced(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("agent.outbound_cli.DISPATCH_OFFER_S", 0.05)
    monkeypatch.setattr("agent.outbound_cli.DISPATCH_POLL_S", 0.01)
    lk = FakeLiveKit(unclaimed=1)
    placed = await dispatch_outbound_call(lk, agent_name="intake-agent",  # type: ignore[arg-type]
                                          number=NUMBER)
    assert len(lk.dispatches) == 2
    assert lk.deleted == ["AD_1"]  # the unclaimed one, before its replacement
    assert json.loads(lk.dispatches[0].metadata)["call_id"] == placed.call_id


async def test_no_worker_at_all_is_an_error_and_the_room_is_removed(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("agent.outbound_cli.DISPATCH_OFFER_S", 0.05)
    monkeypatch.setattr("agent.outbound_cli.DISPATCH_POLL_S", 0.01)
    lk = FakeLiveKit(unclaimed=99)
    with pytest.raises(CallNotPlacedError, match="no agent worker named intake-agent"):
        await dispatch_outbound_call(lk, agent_name="intake-agent",  # type: ignore[arg-type]
                                     number=NUMBER)
    assert len(lk.dispatches) == 3
    assert lk.deleted[-1].startswith("outbound-")
