"""Bookings never lie: which backend a worker gets, and what the tools say with no calendar."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from agent.config import ConfigError, WorkerSettings, booking_backend_for, load_settings
from tests.unit.test_tools_fakes import ctx, example_playbook, example_playbook_text, make_call
from tools.booking import (
    CallbackRequest,
    CallbackRequestBackend,
    HttpBookingBackend,
    LocalBookingBackend,
)
from tools.intake_tools import book_appointment, confirm_field, record_field, request_callback

pytestmark = pytest.mark.unit

ENV = {"LIVEKIT_URL": "ws://127.0.0.1:7880", "LIVEKIT_API_KEY": "k" * 32,
       "LIVEKIT_API_SECRET": "s" * 32, "OPENAI_API_KEY": "sk-test",
       "INTAKE_REDIS_URL": "redis://127.0.0.1:6381/0",
       "INTAKE_DATABASE_URL": "postgresql://intake@127.0.0.1:5433/intake"}


def _settings(*, production: bool, base: str | None = None,
              token: str | None = None) -> WorkerSettings:
    return WorkerSettings(
        livekit_url="ws://127.0.0.1:7880", livekit_api_key="k", livekit_api_secret="s",
        agent_name="a", playbook_path=Path("p.yaml"), openai_api_key="sk", openai_base_url=None,
        realtime_model="m", realtime_voice="v", redis_url=None, database_url=None,
        business_api_base=base, business_api_token=token, production=production)


def _callback_only() -> Any:
    return example_playbook().model_copy(update={"booking": "callback_only"})


def _env(monkeypatch: pytest.MonkeyPatch, **extra: str) -> None:
    for key in ("BUSINESS_API_BASE", "BUSINESS_API_TOKEN", "INTAKE_PLAYBOOK", "OPENAI_BASE_URL"):
        monkeypatch.delenv(key, raising=False)
    for key, value in {**ENV, **extra}.items():
        monkeypatch.setenv(key, value)


def test_production_without_a_backend_refuses_to_start(monkeypatch: pytest.MonkeyPatch) -> None:
    _env(monkeypatch)
    with pytest.raises(ConfigError, match=r"BUSINESS_API_BASE is not set.*callback_only"):
        load_settings(production=True)
    with pytest.raises(ConfigError, match="BUSINESS_API_BASE"):
        booking_backend_for(_settings(production=True), example_playbook())


def test_production_with_callback_only_starts(monkeypatch: pytest.MonkeyPatch,
                                              tmp_path: Path) -> None:
    playbook = tmp_path / "callback_only.yaml"
    playbook.write_text(example_playbook_text() + "\nbooking: callback_only\n")
    _env(monkeypatch, INTAKE_PLAYBOOK=str(playbook))
    settings = load_settings(production=True)
    assert settings.business_api_base is None


def test_which_backend() -> None:
    assert isinstance(booking_backend_for(_settings(production=False), example_playbook()),
                      LocalBookingBackend)
    http = booking_backend_for(_settings(production=True, base="https://api.example.com",
                                         token="tok"), example_playbook())
    assert isinstance(http, HttpBookingBackend)
    assert http._api_key == "tok"
    for production in (True, False):
        backend = booking_backend_for(_settings(production=production), _callback_only())
        assert isinstance(backend, CallbackRequestBackend)


def test_the_token_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    _env(monkeypatch, BUSINESS_API_BASE="https://api.example.com", BUSINESS_API_TOKEN="tok-1")
    settings = load_settings(production=True)
    assert settings.business_api_token == "tok-1"


async def fill(ud: Any) -> None:
    await record_field(ctx(ud), field="name", value="Dana Smith")
    await record_field(ctx(ud), field="phone", value="512 555 0100")
    await confirm_field(ctx(ud), field="phone", is_correct=True)


async def test_with_no_calendar_a_booking_is_a_request_a_person_confirms() -> None:
    ud, _, _ = make_call(booking=CallbackRequestBackend(), playbook=_callback_only())
    await fill(ud)
    out = await book_appointment(ctx(ud), date="next Friday", time_window="morning")
    assert "Request taken, not booked" in out and "call the caller to confirm" in out
    assert "is confirmed" not in out and "reference" not in out
    out = await request_callback(ctx(ud), time_window="afternoon")
    assert "Request taken, not booked" in out
    assert [(b.kind, b.status, b.reference) for b in ud.checklist.bookings] == [
        ("appointment", "requested", None), ("callback", "requested", None)]
    bookings = ud.checklist.outcome()["bookings"]
    assert [b["status"] for b in bookings] == ["requested", "requested"]
    # nothing was confirmed, so nothing is "sent" as a booking
    assert ud.checklist.outcome()["recommended_next_action"] != "send_followup"


async def test_callback_only_still_uses_a_business_api_for_callbacks() -> None:
    local = LocalBookingBackend()
    backend = CallbackRequestBackend(callbacks_to=local)
    request = CallbackRequest(call_id="c", time_window="any", name="Dana", phone="+15125550100")
    result = await backend.request_callback(request)
    assert result.confirmed and result.reference == "LOCAL-0001"
    local.available = False
    result = await backend.request_callback(request)
    assert result.requested and not result.confirmed


def test_a_requested_booking_survives_the_snapshot() -> None:
    from tools.checklist import SlotChecklist

    checklist = SlotChecklist(example_playbook())
    checklist.record_booking("callback", None, "any", status="requested")
    restored = SlotChecklist.from_snapshot(example_playbook(), checklist.snapshot())
    assert restored.bookings == checklist.bookings
    with pytest.raises(ValueError, match="reference"):
        checklist.record_booking("appointment", None, "2025-03-07")
