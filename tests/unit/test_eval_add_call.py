"""An approved call becomes a case: caller audio cut at the recorded turn times, the model's
side as scripted steps, the approved outcome as `expect`; the case loads and scores."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from evals.add_call import AddCallError, add_call, caller_channel
from evals.caller_audio import wav_to_pcm16
from evals.case import load_case
from evals.scoring import CallMetrics, score
from recording import LocalFolderStore
from recording.ogg_writer import StereoOggWriter

pytestmark = pytest.mark.unit

RATE = 48000
T0 = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)


def _at(seconds: float) -> str:
    return (T0 + timedelta(seconds=seconds)).isoformat()


def _record(uri: str, approved: bool = True) -> dict[str, Any]:
    return {
        "call": {"call_id": "c1", "caller_number": "+15125550142"},
        "turns": [
            {"seq": 1, "role": "agent", "text": "Thanks for calling.", "at": _at(0.5)},
            {"seq": 3, "role": "caller", "text": "My sink is clogged.", "at": _at(2.6)},
            {"seq": 5, "role": "agent", "text": "Sorry. What's the address?", "at": _at(3.0)},
            {"seq": 6, "role": "caller", "text": "Twelve Oak Lane.", "at": _at(5.6)},
        ],
        "events": [
            {"seq": 2, "kind": "recording", "payload": {
                "stage": "started", "part": 1, "uri": uri, "started_at": _at(0.0)}},
            {"seq": 4, "kind": "tool_call", "payload": {
                "name": "record_field", "args": {"field": "problem", "value": "sink clogged"},
                "outcome": "ok"}},
        ],
        "outcome": {"fields": {"problem": "sink clogged"}, "missing_fields": ["location"],
                    "escalation_reason": None, "recommended_next_action": "human_review",
                    "approval_status": "approved" if approved else "draft",
                    "approved_by": "olivia"},
    }


class FakeRecords:
    def __init__(self, record: dict[str, Any]) -> None:
        self.record = record

    async def get_call(self, call_id: str) -> dict[str, Any] | None:
        return self.record if call_id == "c1" else None


async def _recorded_call(tmp_path: Path) -> tuple[LocalFolderStore, str]:
    """A 6 s stereo recording: caller tones at 1-2 s and 4-5 s, agent at 2.7-3.5 s."""
    store = LocalFolderStore(tmp_path / "recordings")
    part = await store.open_part("c1")
    writer = StereoOggWriter(part.path)
    audio = np.zeros((2, 6 * RATE), dtype=np.float32)
    t = np.arange(RATE) / RATE
    audio[0, RATE: 2 * RATE] = 0.3 * np.sin(2 * np.pi * 400 * t)
    audio[0, 4 * RATE: 5 * RATE] = 0.3 * np.sin(2 * np.pi * 600 * t)
    audio[1, round(2.7 * RATE): round(3.5 * RATE)] = 0.3
    writer.write(audio)
    writer.close()
    return store, part.uri


async def test_an_approved_call_becomes_a_case_with_its_caller_audio(tmp_path: Path) -> None:
    store, uri = await _recorded_call(tmp_path)
    bank = tmp_path / "bank"
    bank.mkdir()
    path = await add_call(FakeRecords(_record(uri)), store, "c1", bank, name="sink")
    case = load_case(path)
    assert [t.caller for t in case.scenario.turns] == ["My sink is clogged.",
                                                       "Twelve Oak Lane.", None]
    first_steps = case.scenario.turns[0].agent
    assert [type(s).__name__ for s in first_steps] == ["ToolStep", "SayStep"]
    assert case.expect.fields == {"problem": "sink clogged"}
    assert case.expect.missing_fields == ("location",) and case.expect.complete is False
    assert case.expect.next_action == "human_review"
    assert case.expect.end_reason == "caller_hangup"
    # each caller turn is the caller's speech between the previous turn's time and its own
    for index, (low, high) in enumerate([(0.9, 1.35), (3.9, 5.35)]):
        audio_path = case.audio_path(index)
        assert audio_path is not None
        seconds = len(wav_to_pcm16(audio_path)) / 2 / RATE
        assert 1.0 <= seconds <= high - low + 1.0
    # the agent's channel never leaks into the caller's turns
    left = caller_channel(await store.read(uri))
    assert left.size / RATE == pytest.approx(6.0, abs=0.1)
    # its own record passes; one edited expected field fails, naming the field
    assert score(case.expect, _record(uri), CallMetrics()) == []
    edited = path.read_text().replace("problem: sink clogged", "problem: sink overflowing")
    path.write_text(edited)
    reasons = score(load_case(path).expect, _record(uri), CallMetrics())
    assert reasons == ["fields.problem: expected 'sink overflowing', got 'sink clogged'"]


async def test_only_approved_recorded_calls_can_be_added(tmp_path: Path) -> None:
    store, uri = await _recorded_call(tmp_path)
    with pytest.raises(AddCallError, match="not approved"):
        await add_call(FakeRecords(_record(uri, approved=False)), store, "c1", tmp_path)
    with pytest.raises(AddCallError, match="no call"):
        await add_call(FakeRecords(_record(uri)), store, "other", tmp_path)
    unrecorded = _record(uri)
    unrecorded["events"] = unrecorded["events"][1:]
    with pytest.raises(AddCallError, match="no recording"):
        await add_call(FakeRecords(unrecorded), store, "c1", tmp_path)
