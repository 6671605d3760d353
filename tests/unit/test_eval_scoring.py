"""Scoring a stored record against `expect`: each miss names the expectation it broke."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from evals.case import Expectation, parse_case
from evals.results import Baseline, BaselineError, all_good, regressions, run_json
from evals.runner import CaseResult
from evals.scoring import CallMetrics, end_reason, ending_notes, score

pytestmark = pytest.mark.unit


def _record(**outcome: Any) -> dict[str, Any]:
    base = {"fields": {"phone": "+15125550142", "problem": "Water heater LEAKING",
                       "followup_channel": "sms"},
            "missing_fields": ["name"], "escalation_reason": None,
            "recommended_next_action": "human_review"}
    base.update(outcome)
    return {
        "outcome": base,
        "turns": [{"role": "caller", "text": "How much is it?"},
                  {"role": "agent", "text": "A technician will give you an estimate."}],
        "events": [{"kind": "status", "payload": {"status": "hung_up",
                                                  "reason": "intake_complete"}}],
    }


def _expect(yaml_block: str) -> Expectation:
    text = "name: x\nturns:\n  - hangup: true\nexpect:\n" + yaml_block
    return parse_case(text, Path("x.yaml")).expect


def test_a_record_meeting_every_expectation_passes() -> None:
    expect = _expect("""\
  fields:
    phone: "+15125550142"
    problem: {contains: [water heater, leaking]}
    followup_channel: {any_of: [sms, email]}
  missing_fields: [name]
  complete: false
  escalated: false
  end_reason: intake_complete
  next_action: human_review
  agent_says: ['estimate']
  agent_never_says: ['\\$\\d']
  latency: {greeting_ms: 500, response_ms: 900}
""")
    assert score(expect, _record(), CallMetrics(greeting_ms=200, response_ms=[400, 800])) == []


@pytest.mark.parametrize(("block", "starts"), [
    ('  fields: {phone: "+15125550199"}\n', "fields.phone: expected '+15125550199'"),
    ("  fields: {problem: {contains: [furnace]}}\n", "fields.problem:"),
    ("  fields: {followup_channel: {any_of: [phone]}}\n", "fields.followup_channel:"),
    ("  fields: {name: Dana}\n", "fields.name: not collected"),
    ("  missing_fields: []\n", "missing_fields:"),
    ("  complete: true\n", "complete: expected True"),
    ("  escalated: true\n", "escalated: expected True"),
    ("  escalation_reason: pricing\n", "escalation_reason:"),
    ("  end_reason: idle\n", "end_reason: expected 'idle', got 'intake_complete'"),
    ("  next_action: send_followup\n", "next_action:"),
    ("  agent_never_says: ['estimate']\n", "agent_never_says: /estimate/"),
    ("  agent_says: ['booked']\n", "agent_says: /booked/"),
    ("  latency: {greeting_ms: 100}\n", "latency.greeting_ms: 200 ms > 100 ms"),
    ("  latency: {response_ms: 500}\n", "latency.response_ms: 1 replies over 500 ms"),
    ("  latency: {barge_in_ms: 500}\n", "latency.barge_in_ms: the agent did not stop"),
])
def test_each_miss_names_its_expectation(block: str, starts: str) -> None:
    metrics = CallMetrics(greeting_ms=200, response_ms=[400, 800], barge_ins_not_stopped=1)
    reasons = score(_expect(block), _record(), metrics)
    assert len(reasons) == 1 and reasons[0].startswith(starts), reasons


def test_no_stored_outcome_fails() -> None:
    assert score(_expect("  complete: true\n"), None, CallMetrics()) == [
        "record: no stored outcome for the call"]


@pytest.mark.parametrize(("events", "reason"), [
    ([], "caller_hangup"),
    ([{"kind": "status", "payload": {"status": "hung_up", "reason": "idle"}}], "idle"),
    ([{"kind": "status", "payload": {"status": "hung_up", "reason": "time_limit"}}],
     "max_duration"),
    ([{"kind": "escalation", "payload": {"stage": "transfer", "transferred": True}},
      {"kind": "status", "payload": {"status": "hung_up", "reason": "transfer"}}], "transfer"),
    ([{"kind": "escalation", "payload": {"stage": "transfer", "transferred": False}}],
     "caller_hangup"),
    # the caller hung up on the goodbye: the agent's reason for ending stands
    ([{"kind": "status", "payload": {"status": "ending", "reason": "wrong_number"}},
      {"kind": "status", "payload": {"status": "caller_left",
                                     "reason": "participant_disconnected"}}], "wrong_number"),
    ([{"kind": "status", "payload": {"status": "ending", "reason": "intake_complete"}},
      {"kind": "status", "payload": {"status": "hung_up", "reason": "intake_complete"}}],
     "intake_complete"),
])
def test_end_reason_from_events(events: list[dict[str, Any]], reason: str) -> None:
    assert end_reason({"events": events}) == reason


def test_a_caller_hanging_up_on_the_ending_agent_is_noted_with_the_wait() -> None:
    record = {"events": [
        {"kind": "status", "payload": {"status": "ending", "reason": "wrong_number"},
         "at": "2026-12-07T19:15:20.100000+00:00"},
        {"kind": "status", "payload": {"status": "caller_left", "agent_state": "thinking"},
         "at": "2026-12-07T19:15:26.350000+00:00"}]}
    assert ending_notes(record) == [
        "the caller hung up 6.2 s after the agent began ending the call, before the agent's "
        "own hang-up (agent thinking)"]


def test_no_ending_note_when_the_agent_hung_up_or_was_not_ending() -> None:
    hung_up = {"events": [
        {"kind": "status", "payload": {"status": "ending"}, "at": "2026-12-07T19:15:20+00:00"},
        {"kind": "status", "payload": {"status": "hung_up"}, "at": "2026-12-07T19:15:22+00:00"},
        {"kind": "status", "payload": {"status": "caller_left"},
         "at": "2026-12-07T19:15:23+00:00"}]}
    not_ending = {"events": [{"kind": "status", "payload": {"status": "caller_left"},
                              "at": "2026-12-07T19:15:23+00:00"}]}
    assert ending_notes(hung_up) == [] and ending_notes(not_ending) == []


def _result(name: str, passed: bool) -> CaseResult:
    return CaseResult(name=name, path=f"{name}.yaml", passed=passed,
                      reasons=[] if passed else ["complete: expected True, got False"])


def test_regressions_are_baseline_passes_that_fail_or_vanish(tmp_path: Path) -> None:
    results = [_result("a", True), _result("b", False), _result("c", False)]
    baseline_file = tmp_path / "baseline.json"
    baseline_file.write_text('{"cases": [{"name": "a", "passed": true},'
                             '{"name": "b", "passed": true}, {"name": "c", "passed": false},'
                             '{"name": "gone", "passed": true}]}')
    baseline = Baseline.load(baseline_file)
    assert regressions(results, baseline) == ["b", "gone"]
    # a run of chosen cases compares with those cases only
    assert regressions(results, baseline.only(["a", "b"])) == ["b"]
    summary = run_json(results, [], baseline, wall_seconds=1.0, lanes=1, model="sim")
    assert summary["totals"] == {"cases": 3, "passed": 1, "failed": 2, "bad_files": 0,
                                 "regressed": 2}
    assert not all_good(summary)
    good = run_json([_result("a", True)], [], None, wall_seconds=1.0, lanes=1, model="sim")
    assert all_good(good)
    # a run's own --json output is a valid baseline
    again = tmp_path / "again.json"
    import json
    again.write_text(json.dumps(summary))
    assert Baseline.load(again).passed == {"a": True, "b": False, "c": False}


def test_a_bad_baseline_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "b.json"
    bad.write_text('{"cases": "nope"}')
    with pytest.raises(BaselineError, match="no 'cases' list"):
        Baseline.load(bad)
    with pytest.raises(BaselineError, match="cannot read"):
        Baseline.load(tmp_path / "missing.json")


def test_latency_and_talk_over_come_from_the_callers_timings() -> None:
    from evals.runner import metrics_from
    from simulated_caller.report import AgentSpeechSegment, CallerReport, CallerTurnResult

    report = CallerReport(agent_subscribed_at=10.0, first_agent_audio_at=10.2)
    report.turns = [
        CallerTurnResult(index=0, text="a", speech_started_at=12.0, speech_ended_at=13.0,
                         barged_in=False, agent_reply_started_at=13.8),
        CallerTurnResult(index=1, text="b", speech_started_at=15.0, speech_ended_at=16.0,
                         barged_in=True, agent_stopped_at=15.3),
        CallerTurnResult(index=2, text="c", speech_started_at=18.0, speech_ended_at=19.0,
                         barged_in=False, agent_reply_started_at=19.5),
    ]
    report.segments = [AgentSpeechSegment(started_at=13.8, ended_at=15.3),
                       AgentSpeechSegment(started_at=18.5, ended_at=18.9),  # over line c
                       AgentSpeechSegment(started_at=19.5, ended_at=20.0)]
    metrics = metrics_from(report)
    assert metrics.greeting_ms == pytest.approx(200)
    assert metrics.response_ms == pytest.approx([800, 500])
    assert metrics.barge_in_ms == pytest.approx([300])
    assert metrics.talked_over == 1
    expect = _expect("  caller_talked_over: false\n")
    assert score(expect, _record(), metrics) == [
        "caller_talked_over: expected False, the agent started speaking during 1 caller lines"]
    metrics.talked_over = 0
    assert score(expect, _record(), metrics) == []
