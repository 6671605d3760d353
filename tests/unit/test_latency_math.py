"""How benchmark figures are computed from what the caller and the simulator observed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.assets import greeting_text
from agent.job_metadata import call_id_for, parse_job_metadata
from agent.playout import FIRST_FRAME_MARK
from benchmarks.latency import FIGURES, first_frame_marks, measure_call
from benchmarks.stats import percentile, summarize
from devstack.local_call import CallResult, caller_lines
from realtime_simulator import parse_scenario
from realtime_simulator.records import TurnTiming
from simulated_caller import AgentSpeechSegment, CallerReport, CallerTurnResult
from tools.playbook import load_playbook

pytestmark = pytest.mark.unit


def test_percentile_is_nearest_rank_of_measured_values() -> None:
    values = [10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0, 100.0]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 95) == 100.0
    assert summarize(values) == {"p50": 50.0, "p95": 100.0, "max": 100.0, "n": 10}
    assert summarize([]) == {"p50": None, "p95": None, "max": None, "n": 0}


def test_measure_call_subtracts_what_the_simulator_waited() -> None:
    report = CallerReport(agent_subscribed_at=1.0, first_agent_audio_at=1.3)
    report.segments = [AgentSpeechSegment(1.3, 2.0), AgentSpeechSegment(4.0, 6.0)]
    report.turns = [
        CallerTurnResult(index=0, text="a", speech_started_at=2.5, speech_ended_at=3.0,
                         barged_in=False, agent_reply_started_at=4.0),
        CallerTurnResult(index=1, text="b", speech_started_at=5.0, speech_ended_at=5.5,
                         barged_in=True, agent_stopped_at=5.15),
    ]
    timing = TurnTiming(turn_index=0, response_id="r", trigger="server_vad",
                        speech_stopped_at=3.6, silence_window_ms=500, reply_delay_ms=300,
                        created_at=3.6, first_audio_at=3.95)
    figures = measure_call(CallResult(call_id="c", room="call-c", report=report,
                                      sim_turn_timings=[timing]))
    assert figures["greeting_ms"] == [pytest.approx(300.0)]
    assert figures["response_overhead_ms"] == [pytest.approx(1000.0 - 500 - 300)]
    assert figures["barge_in_stop_ms"] == [pytest.approx(150.0)]
    # 200 ms overhead = 100 inbound + 50 in the simulator + 50 outbound
    assert figures["response_inbound_ms"] == [pytest.approx(100.0)]
    # what the caller waited in all: the window, the model's 350 ms (300 scripted) and ours
    assert figures["response_total_ms"] == [pytest.approx(1000.0)]
    assert figures["turn_detection_window_ms"] == [500.0]
    assert figures["response_total_ms@500"] == [pytest.approx(1000.0)]
    assert figures["response_model_ms"] == [pytest.approx(350.0)]
    assert figures["response_outbound_ms"] == [pytest.approx(50.0)]
    # by the caller's line too: the reply to "a", the barge-in of "b"
    assert figures["response_overhead_ms@a"] == [pytest.approx(200.0)]
    assert figures["barge_in_stop_ms@b"] == [pytest.approx(150.0)]


def test_outbound_splits_at_the_workers_first_frame_mark(tmp_path: Path) -> None:
    (tmp_path / "worker-0.log").write_text("\n".join([
        json.dumps({"message": "call stage", "at": 1000.5}),
        json.dumps({"message": FIRST_FRAME_MARK, "at": 1003.96}),
        "not json, and no mark",
    ]))
    marks = first_frame_marks(tmp_path)
    assert marks == [1003.96]
    report = CallerReport(agent_subscribed_at=1.0, first_agent_audio_at=1.3)
    report.segments = [AgentSpeechSegment(4.0, 6.0)]
    # the reply's first sound came 20 ms before its first loud frame
    report.turns = [CallerTurnResult(index=0, text="a", speech_started_at=2.5,
                                     speech_ended_at=3.0, barged_in=False,
                                     agent_reply_started_at=4.0, agent_reply_sound_at=3.98)]
    timing = TurnTiming(turn_index=0, response_id="r", trigger="server_vad",
                        speech_stopped_at=3.6, silence_window_ms=500, reply_delay_ms=300,
                        created_at=3.6, first_audio_at=3.95)
    # monotonic 3.95 is wall 1003.95 in the benchmark's process
    figures = measure_call(CallResult(call_id="c", room="call-c", report=report,
                                      sim_turn_timings=[timing]), marks, wall_offset=1000.0)
    assert figures["outbound_agent_ms"] == [pytest.approx(10.0)]
    assert figures["outbound_transport_ms"] == [pytest.approx(20.0)]
    assert figures["response_overhead_onset_ms"] == [pytest.approx(980.0 - 500 - 300)]


def test_caller_lines_follow_the_scenario() -> None:
    scenario = parse_scenario(
        "name: s\nturns:\n  - caller: hello\n    barge_in_after_ms: 300\n"
        "  - hangup: true\n")
    lines = caller_lines(scenario)
    assert lines[0].text == "hello" and lines[0].barge_in_after_ms == 300
    assert lines[1].hangup and lines[1].text is None


def test_greeting_discloses_ai_and_recording() -> None:
    playbook = load_playbook("playbooks/home_services.yaml")
    text = greeting_text(playbook)
    assert playbook.ai_disclosure in text
    assert playbook.recording_consent.text and playbook.recording_consent.text in text


def test_call_id_comes_from_metadata_or_room() -> None:
    assert call_id_for("call-abc123", {}) == "abc123"
    assert call_id_for("call-abc123", {"call_id": "xyz"}) == "xyz"
    assert call_id_for("other-room", {})  # a fresh id, never empty
    # SIP rooms carry a phone number; the id is only the random part
    assert call_id_for("call-_+15125550100_AbC123xyz", {}) == "AbC123xyz"
    assert parse_job_metadata("not json") == {}
    assert parse_job_metadata('{"resume": true}') == {"resume": True}


def test_backchannels_and_interruptions_are_scored_from_what_the_caller_heard() -> None:
    from benchmarks.latency import summarize_run

    report = CallerReport(agent_subscribed_at=1.0, first_agent_audio_at=1.3)
    report.segments = [AgentSpeechSegment(1.3, 3.1), AgentSpeechSegment(3.8, 5.0),
                       AgentSpeechSegment(6.0, 6.2), AgentSpeechSegment(9.0, 9.5)]
    report.turns = [
        # "Mm-hm." at 3.0: the agent paused, then its line went on at 3.8 (resumed)
        CallerTurnResult(index=0, text="Mm-hm.", speech_started_at=3.0, speech_ended_at=3.4,
                         barged_in=True, agent_stopped_at=3.1),
        # "Okay." at 6.1: the agent stopped for good (a false barge-in)
        CallerTurnResult(index=1, text="Okay.", speech_started_at=6.1, speech_ended_at=6.4,
                         barged_in=True, agent_stopped_at=6.2),
        # a real interruption the agent stopped for, and one it talked through
        CallerTurnResult(index=2, text="Wait, stop.", speech_started_at=7.0,
                         speech_ended_at=7.5, barged_in=True, agent_stopped_at=7.1),
        CallerTurnResult(index=3, text="No, hold on.", speech_started_at=9.1,
                         speech_ended_at=9.3, barged_in=True, agent_stopped_at=9.5),
    ]
    report.disconnected_at = 10.0
    samples = measure_call(CallResult(call_id="c", room="call-c", report=report))
    summary = summarize_run(samples, floor=[20.0, 20.0, 30.0])
    assert summary["backchannels"] == 2 and summary["interruptions"] == 2
    assert summary["false_barge_in_rate"] == 0.5
    assert summary["missed_interruption_rate"] == 0.5
    assert summary["transport_floor_ms"] == 20.0
    # greeting: 300 ms absolute, one hop over the floor
    assert summary["greeting_ms"]["p50"] == 300.0
    assert summary["greeting_ms"]["over_floor"]["p50"] == 280.0
    # each line's barge-in apart, two hops over the floor
    by_line = summary["barge_in_stop_by_line_ms"]
    assert set(by_line) == {"Mm-hm.", "Okay.", "Wait, stop.", "No, hold on."}
    assert by_line["No, hold on."]["p50"] == pytest.approx(400.0)
    assert by_line["No, hold on."]["over_floor"]["p50"] == pytest.approx(360.0)
    # the agent hung up 0.5 s after its last audio, 0.7 s after the caller's last line
    assert samples["after_agent_goodbye_ms"] == [pytest.approx(500.0)]
    assert samples["goodbye_to_hangup_ms"] == [pytest.approx(700.0)]


def test_the_reply_wait_is_also_given_per_turn_window() -> None:
    from benchmarks.latency import summarize_run

    samples = {key: [] for key in FIGURES}
    samples.update({"response_total_ms@1000": [1300.0, 1250.0], "response_total_ms@300": [600.0],
                    "backchannels": [], "backchannels_cancelled": [], "interruptions": [],
                    "interruptions_missed": []})
    summary = summarize_run(samples, floor=[20.0])
    by_window = summary["response_total_by_window_ms"]
    assert list(by_window) == ["300", "1000"]  # by window, not as text
    assert by_window["300"]["p50"] == 600.0 and by_window["1000"]["n"] == 2


def test_the_callers_hung_up_on_noise_is_dropped_and_other_livekit_errors_are_kept(
        caplog: pytest.LogCaptureFixture) -> None:
    import logging

    import simulated_caller.caller  # noqa: F401  (installs the filter)

    livekit_log = logging.getLogger("livekit")
    with caplog.at_level(logging.ERROR, logger="livekit"):
        livekit_log.error("%s - %s", "rtc_session:704",
                          "publisher data channel '_reliable' closed unexpectedly")
        livekit_log.error("%s - %s", "rtc_session:12", "failed to connect")
    assert [r.getMessage() for r in caplog.records] == ["rtc_session:12 - failed to connect"]


def test_every_sample_keeps_each_figures_values_for_pooling() -> None:
    from benchmarks.latency import FIGURES, every_sample

    every = every_sample({"barge_in_stop_ms": [101.234, 99.0]}, [50.554])
    assert every["barge_in_stop_ms"] == [101.23, 99.0]
    assert every["transport_floor"] == [50.55]
    assert set(every) == {*FIGURES, "transport_floor"} and every["greeting_ms"] == []


def test_barge_in_decisions_are_counted_from_the_worker_log(tmp_path: Path) -> None:
    from agent.session_events import BARGE_IN_DECISION_MARK
    from benchmarks.latency import barge_in_decisions

    (tmp_path / "worker-1.log").write_text("\n".join([
        json.dumps({"message": BARGE_IN_DECISION_MARK, "decision": "unconfirmed"}),
        json.dumps({"message": BARGE_IN_DECISION_MARK, "decision": "resumed"}),
        json.dumps({"message": BARGE_IN_DECISION_MARK, "decision": "resumed"}),
        json.dumps({"message": "something else: " + BARGE_IN_DECISION_MARK}),
    ]))
    (tmp_path / "worker-2.log").write_text(
        json.dumps({"message": BARGE_IN_DECISION_MARK, "decision": "interrupted"}))
    assert barge_in_decisions(tmp_path) == {"interrupted": 1, "resumed": 2, "unconfirmed": 1}
