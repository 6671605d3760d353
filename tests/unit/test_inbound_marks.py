"""The caller's side of a reply, split at the worker (agent/inbound_marks.py and the latency
benchmark's reading of its marks)."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
import pytest
from livekit import rtc
from openai.types.realtime.realtime_audio_input_turn_detection import ServerVad

from agent.inbound_marks import CALLER_SPEECH_MARK, InboundMarks, frame_is_loud
from agent.realtime_model import PhoneRealtimeModel
from benchmarks.latency import caller_speech_marks, measure_call
from devstack.local_call import CallResult
from realtime_simulator import RealtimeSimulator, parse_scenario, synthesize_pcm16
from realtime_simulator.records import TurnTiming
from realtime_simulator.speech import silence_pcm16
from simulated_caller import AgentSpeechSegment, CallerReport, CallerTurnResult

pytestmark = pytest.mark.unit


def _frame(amplitude: int) -> rtc.AudioFrame:
    samples = (amplitude * np.sin(np.linspace(0, 40 * np.pi, 480))).astype(np.int16)
    return rtc.AudioFrame(samples.tobytes(), 24000, 1, 480)


class _Session:
    def __init__(self) -> None:
        self.pushed: list[rtc.AudioFrame] = []
        self.handlers: dict[str, Any] = {}

    def push_audio(self, frame: rtc.AudioFrame) -> None:
        self.pushed.append(frame)

    def on(self, event: str, handler: Any) -> None:
        self.handlers[event] = handler


def test_speech_is_loud_and_line_hiss_is_not() -> None:
    assert frame_is_loud(_frame(3000))  # about -23 dBFS
    assert not frame_is_loud(_frame(100))  # about -53 dBFS
    assert not frame_is_loud(rtc.AudioFrame(b"", 24000, 1, 0))


def test_the_last_loud_frame_is_logged_when_the_model_hears_the_speech_stop(
        caplog: pytest.LogCaptureFixture) -> None:
    session = _Session()
    marks = InboundMarks()
    marks.watch(session)
    session.push_audio(_frame(3000))  # the session's own push_audio still gets every frame
    loud_in = marks.frame_in_at
    session.push_audio(_frame(50))
    assert len(session.pushed) == 2
    assert marks.frame_in_at == loud_in and marks.sent_at is not None
    assert marks.sent_at >= loud_in  # type: ignore[operator]
    with caplog.at_level(logging.DEBUG, logger="intake.inbound"):
        session.handlers["input_speech_stopped"](object())
        session.handlers["input_speech_stopped"](object())  # nothing loud since: no mark
    logged = [r for r in caplog.records if r.getMessage() == CALLER_SPEECH_MARK]
    assert len(logged) == 1 and logged[0].__dict__["frame_in_at"] == loud_in


def test_inbound_splits_at_the_workers_mark(tmp_path: Path) -> None:
    (tmp_path / "worker-0.log").write_text("\n".join([
        json.dumps({"message": CALLER_SPEECH_MARK, "frame_in_at": 1003.05, "sent_at": 1003.0502}),
        json.dumps({"message": CALLER_SPEECH_MARK, "frame_in_at": 1009.0, "sent_at": 1009.0}),
        "not json, and no mark",
    ]))
    marks = caller_speech_marks(tmp_path)
    assert marks == [(1003.05, 1003.0502), (1009.0, 1009.0)]
    report = CallerReport(agent_subscribed_at=1.0, first_agent_audio_at=1.3)
    report.segments = [AgentSpeechSegment(4.0, 6.0)]
    report.turns = [CallerTurnResult(index=0, text="a", speech_started_at=2.5,
                                     speech_ended_at=3.0, barged_in=False,
                                     agent_reply_started_at=4.0)]
    # the simulator declared the stop 500 ms of silence after hearing the last loud audio at
    # monotonic 3.06 (wall 1003.06)
    timing = TurnTiming(turn_index=0, response_id="r", trigger="server_vad",
                        speech_stopped_at=3.56, silence_window_ms=500, reply_delay_ms=300,
                        created_at=3.56, first_audio_at=3.95)
    figures = measure_call(CallResult(call_id="c", room="call-c", report=report,
                                      sim_turn_timings=[timing]),
                           wall_offset=1000.0, inbound_marks=marks)
    assert figures["response_inbound_ms"] == [pytest.approx(60.0)]
    assert figures["inbound_to_worker_ms"] == [pytest.approx(50.0)]
    assert figures["inbound_worker_ms"] == [pytest.approx(0.2)]
    assert figures["inbound_to_model_ms"] == [pytest.approx(9.8)]
    # the three parts add up to the whole
    assert sum(figures[k][0] for k in ("inbound_to_worker_ms", "inbound_worker_ms",
                                       "inbound_to_model_ms")) == pytest.approx(60.0)


async def test_the_real_plugin_session_logs_the_mark_at_the_models_speech_stop(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """Our model's session, with the real plugin, against the simulator: the mark is logged
    when the model says the speech stopped, and it is the speech's last loud frame."""
    monkeypatch.setenv("INTAKE_STAGE_MARKS", "1")
    sim = RealtimeSimulator(parse_scenario(
        'name: marks\nturns:\n  - caller: "Hi, my sink is blocked."\n'
        '    agent:\n      - say: "I can help."\n  - hangup: true\n'),
        api_key="sk-simulated", stream_speed=50)
    await sim.start()
    http = aiohttp.ClientSession()
    model = PhoneRealtimeModel(
        base_url=sim.base_url, api_key="sk-simulated", http_session=http,
        turn_detection=ServerVad(type="server_vad", threshold=0.5, prefix_padding_ms=300,
                                 silence_duration_ms=400, create_response=True,
                                 interrupt_response=False))
    session = model.session()
    stopped = asyncio.Event()
    session.on("input_speech_stopped", lambda _ev: stopped.set())
    step = 480 * 2  # 20 ms at 24 kHz
    try:
        # the mark's level was fixed when agent.playout was imported (DEBUG here)
        with caplog.at_level(logging.DEBUG, logger="intake.inbound"):
            speech = synthesize_pcm16("Hi, my sink is blocked.", 24000)
            speech += b"\x00" * (-len(speech) % step)
            for at in range(0, len(speech), step):
                session.push_audio(rtc.AudioFrame(speech[at:at + step], 24000, 1, 480))
            silence_from = time.time()
            await asyncio.sleep(0.05)
            quiet = silence_pcm16(800, 24000)
            for at in range(0, len(quiet) - step + 1, step):
                session.push_audio(rtc.AudioFrame(quiet[at:at + step], 24000, 1, 480))
            await asyncio.wait_for(stopped.wait(), 10)
        marks = [r.__dict__ for r in caplog.records if r.getMessage() == CALLER_SPEECH_MARK]
        assert len(marks) == 1
        assert marks[0]["frame_in_at"] <= marks[0]["sent_at"] < silence_from
    finally:
        await session.aclose()
        await model.aclose()
        await http.close()
        await sim.stop()
