"""The worker checks calling hours again right before it dials: a dispatch that waited past the
window is not dialed, and its record says so."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from agent.config import WorkerSettings
from agent.outbound import OutboundDialer
from state.recorder import InMemoryCallRecorder
from tests.unit.test_tools_fakes import EXAMPLE_PLAYBOOK
from tools.playbook import WeeklyHours, load_playbook

pytestmark = pytest.mark.unit

NUMBER = "+15125550123"
ALWAYS = WeeklyHours(**{day: "00:00-23:59" for day in (
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")})


class FakeJob:
    def __init__(self) -> None:
        self.room = SimpleNamespace(name="outbound-abc")
        self.worker_id = "W_1"
        self.api = None
        self.deleted = False
        self.shutdown_reason: str | None = None

    async def delete_room(self) -> None:
        self.deleted = True

    def shutdown(self, reason: str = "") -> None:
        self.shutdown_reason = reason


class FakeSip:
    def __init__(self) -> None:
        self.dialed: list[dict[str, Any]] = []

    async def outbound_trunk(self) -> str:
        return "ST_1"

    async def dial(self, **kwargs: Any) -> None:
        self.dialed.append(kwargs)


def _assets(calling_hours: WeeklyHours, recorder: InMemoryCallRecorder, sip: FakeSip) -> Any:
    playbook = load_playbook(EXAMPLE_PLAYBOOK)
    playbook = playbook.model_copy(update={"outbound": playbook.outbound.model_copy(
        update={"calling_hours": calling_hours})})
    settings = WorkerSettings(
        livekit_url="ws://127.0.0.1:7880", livekit_api_key="k", livekit_api_secret="s",
        agent_name="a", playbook_path=Path("p.yaml"), openai_api_key="sk", openai_base_url=None,
        realtime_model="m", realtime_voice="v", redis_url=None, database_url=None,
        business_api_base=None, production=False, sip_outbound_trunk_id="ST_1")

    async def open_recorder() -> Any:
        async def close() -> None:
            return None
        return recorder, close

    return SimpleNamespace(playbook=playbook, settings=settings, open_recorder=open_recorder,
                           sip_control=lambda lk: sip)


async def test_outside_the_window_at_dialing_time_nothing_is_dialed() -> None:
    job, recorder, sip = FakeJob(), InMemoryCallRecorder(), FakeSip()
    assets = _assets(WeeklyHours(), recorder, sip)  # the window closed while it waited
    dialer = OutboundDialer(job, assets, "abc", {"dial_to": NUMBER})  # type: ignore[arg-type]
    assert await dialer._dial(assets.playbook) is False
    assert sip.dialed == []
    statuses = [e.payload for _, e in recorder.events if e.kind == "status"]
    assert statuses[-1] == {"status": "not_dialed", "reason": "outside_calling_hours"}
    assert recorder.outcome is not None
    assert recorder.outcome["recommended_next_action"].startswith(
        "Not dialed: outside the playbook's calling hours")
    assert job.deleted and job.shutdown_reason == "outbound_outside_calling_hours"
    assert recorder.info is not None and recorder.info.caller_number == NUMBER


async def test_inside_the_window_the_lead_is_dialed(monkeypatch: pytest.MonkeyPatch) -> None:
    # only the playbook's hours are under test here: the callee is awake
    monkeypatch.setattr("agent.calling_hours._callee_awake", lambda zones, at: True)
    job, recorder, sip = FakeJob(), InMemoryCallRecorder(), FakeSip()
    assets = _assets(ALWAYS, recorder, sip)
    dialer = OutboundDialer(job, assets, "abc", {"dial_to": NUMBER})  # type: ignore[arg-type]
    assert await dialer._dial(assets.playbook) is True
    assert [d["number"] for d in sip.dialed] == [NUMBER]
    assert recorder.outcome is None and job.shutdown_reason is None


def test_a_replacement_knows_the_call_is_outbound_and_never_dials() -> None:
    import json

    from agent.outbound import is_outbound_call
    from agent.worker_duties import redispatch_metadata

    stored = {"metadata": json.dumps({"call_direction": "outbound", "call_id": "abc",
                                      "dial_by": "2025-03-04T16:00:00+00:00"})}
    metadata = redispatch_metadata(stored, "abc", "W-2")
    assert metadata["call_direction"] == "outbound" and metadata["resume"] is True
    assert metadata["lease_owner"] == "W-2"
    assert not is_outbound_call({**metadata, "dial_to": NUMBER})  # a resume never re-dials
    assert redispatch_metadata({"metadata": "not json"}, "abc", "W-2") == {
        "call_id": "abc", "resume": True, "lease_owner": "W-2"}
