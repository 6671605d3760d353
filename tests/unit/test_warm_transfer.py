"""Warm transfer pieces that need no servers: the briefing, the hold audio, dial failures."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from livekit import api, rtc

from agent import warm_transfer
from agent.config import DEFAULT_PLAYBOOK
from agent.warm_transfer import WarmTransfer, briefing_text, hold_audio, hold_chime
from sip.dialing import DialError, _failure_for, dial
from sip.livekit_call_control import LiveKitSipCallControl
from tools.playbook import load_playbook

pytestmark = pytest.mark.unit

PLAYBOOK = load_playbook(DEFAULT_PLAYBOOK)


def test_briefing_names_the_reason_and_every_known_field_in_playbook_order() -> None:
    text = briefing_text(PLAYBOOK, "urgent", {
        "phone": "+15125550142", "problem": "water heater leaking", "name": "Pat Lee",
        "location": "", "budget": None,
    })
    assert text.startswith(f"Hi, this is the AI assistant for {PLAYBOOK.business_name}.")
    assert "may have an urgent problem" in text
    assert text.index("problem: water heater leaking") < text.index("name: Pat Lee")
    assert "phone: 1 5 1 2 5 5 5 0 1 4 2" in text  # digits, one by one
    assert "location" not in text and "budget" not in text  # nothing known: not mentioned
    assert text.endswith("Connecting you now.")


def test_briefing_without_details_says_so() -> None:
    text = briefing_text(PLAYBOOK, "human_request", {})
    assert "asked to speak with a person" in text
    assert "I don't have any details yet." in text


def test_the_hold_chime_is_audible_and_starts_and_ends_quietly() -> None:
    frames = hold_chime()
    pcm = np.concatenate([np.frombuffer(bytes(f.data), dtype=np.int16) for f in frames])
    assert len(pcm) / frames[0].sample_rate == pytest.approx(2.0, abs=0.02)
    assert np.abs(pcm).max() > 1000
    assert abs(int(pcm[0])) < 100 and abs(int(pcm[-1])) < 100  # no clicks when looped


def _frames(count: int, value: int = 1000) -> list[rtc.AudioFrame]:
    samples = 240  # 10 ms at 24 kHz
    data = np.full(samples, value, dtype=np.int16).tobytes()
    return [rtc.AudioFrame(data, 24000, 1, samples) for _ in range(count)]


async def test_hold_audio_plays_the_message_then_loops_the_chime_until_stopped() -> None:
    message, chime = _frames(3, 1), _frames(2, 2)
    stop = asyncio.Event()
    got: list[int] = []
    async for frame in hold_audio(message, chime, stop):
        got.append(int(np.frombuffer(bytes(frame.data), dtype=np.int16)[0]))
        if len(got) == 9:
            stop.set()
    assert got == [1, 1, 1, 2, 2, 2, 2, 2, 2]


async def test_hold_audio_stays_a_little_ahead_of_playout(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # a clock that moves only when the generator sleeps: how far ahead of real time it runs
    now = [0.0]

    async def fake_sleep(seconds: float) -> None:
        now[0] += seconds

    monkeypatch.setattr(warm_transfer.time, "monotonic", lambda: now[0])
    monkeypatch.setattr(warm_transfer.asyncio, "sleep", fake_sleep)
    stop = asyncio.Event()
    produced = 0.0
    async for frame in hold_audio([], _frames(100), stop):  # 1 s of chime
        produced += frame.samples_per_channel / frame.sample_rate
        assert produced - now[0] <= warm_transfer.HOLD_AUDIO_LEAD_S + 0.011
        if produced >= 1.0:
            stop.set()
    assert now[0] >= 1.0 - warm_transfer.HOLD_AUDIO_LEAD_S - 0.011


def test_sip_failures_map_to_what_the_caller_is_told() -> None:
    assert _failure_for(486) == "busy"
    assert _failure_for(480) == "no_answer" and _failure_for(None) == "no_answer"
    assert _failure_for(403) == "rejected"


class _RefusingSip:
    def __init__(self, error: Exception) -> None:
        self.error = error
        self.requests: list[api.CreateSIPParticipantRequest] = []

    async def create_sip_participant(self, request: api.CreateSIPParticipantRequest,
                                     timeout: float | None = None) -> None:
        self.requests.append(request)
        raise self.error


class _Lk:
    def __init__(self, error: Exception) -> None:
        self.sip = _RefusingSip(error)


async def test_a_ring_timeout_is_no_answer_and_the_number_stays_out_of_the_error() -> None:
    lk = _Lk(api.TwirpError("canceled", "sip request timed out", status=408))
    with pytest.raises(DialError) as failure:
        await dial(lk, room="r", number="+15125550100", trunk_id="ST_1",  # type: ignore[arg-type]
                   identity="person", ring_timeout_s=5)
    assert failure.value.reason == "no_answer"
    assert "5550100" not in str(failure.value)
    request = lk.sip.requests[0]
    assert request.wait_until_answered and request.ringing_timeout.seconds == 5
    assert request.hide_phone_number


async def test_a_refused_dial_is_reported_not_raised() -> None:
    lk = _Lk(api.TwirpError("unavailable", "cpu exhausted", status=503))
    sip = LiveKitSipCallControl(lk, trunk_id="ST_1")  # type: ignore[arg-type]
    transfer = WarmTransfer(lk=lk, sip=sip,  # type: ignore[arg-type]
                            livekit_url="ws://127.0.0.1:1", api_key="k", api_secret="s",
                            caller_room=rtc.Room(), call_id="c1")

    async def no_room() -> None:  # the consultation room is not what this test is about
        return None

    transfer._join_consult_room = no_room  # type: ignore[method-assign]
    result = await transfer.dial_and_brief("+15125550100", "briefing", ring_timeout_s=5)
    assert (result.connected, result.reason) == (False, "unreachable")
